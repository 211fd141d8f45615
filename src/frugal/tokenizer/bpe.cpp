#include "frugal/tokenizer/bpe.h"

#include <algorithm>
#include <atomic>

#include "frugal/core/error.h"
#include "frugal/tokenizer/byte_level.h"

namespace frugal {

namespace {

std::atomic<uint64_t> g_next_instance{1};

// One thread's memory of encoded pieces: piece -> a span of `ids`.
struct PieceCache {
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  uint64_t owner = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, Hash, std::equal_to<>> spans;
  std::vector<int32_t> ids;

  static constexpr std::size_t kMaxEntries = 1 << 16;
  void reset(uint64_t new_owner) {
    owner = new_owner;
    spans.clear();
    ids.clear();
  }
};

}  // namespace

BytePairEncoder::BytePairEncoder(const std::unordered_map<std::string, int32_t>& vocab,
                                 const std::vector<std::pair<std::string, std::string>>& merges,
                                 const std::string& source)
    : instance_(g_next_instance.fetch_add(1)) {
  const auto& alphabet = byte_to_unicode();
  for (int b = 0; b < 256; ++b) {
    const auto it = vocab.find(alphabet[b]);
    if (it == vocab.end())
      fail(source, ": the vocabulary has no token for byte 0x", std::hex, b, std::dec, " (\"", alphabet[b],
           "\"); byte-level BPE needs all 256");
    byte_token_[b] = it->second;
  }
  std::size_t capacity = 16;
  while (capacity < merges.size() * 2) capacity *= 2;
  table_.assign(capacity, Merge{});
  mask_ = capacity - 1;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const auto l = vocab.find(left), r = vocab.find(right), m = vocab.find(left + right);
    if (l == vocab.end() || r == vocab.end() || m == vocab.end())
      fail(source, ": merge ", rank, " \"", left, " ", right, "\" uses a token that is not in the vocabulary");
    // A repeated pair keeps its first (highest-priority) rank.
    const uint64_t k = key(l->second, r->second);
    uint64_t slot = slot_of(k) & mask_;
    while (table_[slot].key != kEmpty && table_[slot].key != k) slot = (slot + 1) & mask_;
    if (table_[slot].key == kEmpty) table_[slot] = Merge{k, static_cast<int32_t>(rank), m->second};
  }
}


thread_local PieceCache t_cache;

void BytePairEncoder::clear_thread_cache() { t_cache.reset(0); }

void BytePairEncoder::encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() > kCachedPieceBytes) {
    merge(piece, out);
    return;
  }
  PieceCache& cache = t_cache;
  if (cache.owner != instance_ || cache.spans.size() >= PieceCache::kMaxEntries) cache.reset(instance_);
  if (const auto it = cache.spans.find(piece); it != cache.spans.end()) {
    const auto [begin, count] = it->second;
    out.insert(out.end(), cache.ids.begin() + begin, cache.ids.begin() + begin + count);
    return;
  }
  const std::size_t first = out.size();
  merge(piece, out);
  const auto begin = static_cast<uint32_t>(cache.ids.size());
  cache.ids.insert(cache.ids.end(), out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
  cache.spans.emplace(std::string(piece), std::pair{begin, static_cast<uint32_t>(out.size() - first)});
}

void BytePairEncoder::merge(std::string_view piece, std::vector<int32_t>& out) const {
  const auto n = static_cast<int32_t>(piece.size());
  if (n == 0) return;
  if (n == 1) {
    out.push_back(byte_token_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  // Symbols form a linked list; merged-away symbols get id -1.
  thread_local std::vector<int32_t> ids, prev, next;
  ids.resize(n);
  prev.resize(n);
  next.resize(n);
  for (int32_t i = 0; i < n; ++i) {
    ids[i] = byte_token_[static_cast<unsigned char>(piece[i])];
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }

  // Candidate merges ordered by rank, then by position (leftmost first).
  struct Candidate {
    int32_t rank, left, left_id, right_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  thread_local std::vector<Candidate> heap;  // a min-heap through std::greater
  heap.clear();
  auto push = [&](int32_t left) {
    if (left < 0 || next[left] < 0) return;
    const int32_t right = next[left];
    if (const Merge* m = find(ids[left], ids[right])) {
      heap.push_back({m->rank, left, ids[left], ids[right]});
      std::push_heap(heap.begin(), heap.end(), std::greater<>{});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    const Candidate c = heap.back();
    heap.pop_back();
    const int32_t right = next[c.left];
    // Skip candidates made stale by an earlier merge.
    if (ids[c.left] != c.left_id || right < 0 || ids[right] != c.right_id) continue;
    ids[c.left] = find(c.left_id, c.right_id)->result;
    ids[right] = -1;
    next[c.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.left;
    if (prev[c.left] >= 0) push(prev[c.left]);
    push(c.left);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

}  // namespace frugal
