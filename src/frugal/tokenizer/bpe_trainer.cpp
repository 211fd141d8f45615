#include "frugal/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "frugal/core/error.h"
#include "frugal/tokenizer/utf8.h"

namespace frugal {
namespace {

using Pair = uint64_t;  // (left id << 32) | right id: ordering keys compares left, then right

Pair pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}
int32_t left_of(Pair pair) { return static_cast<int32_t>(pair >> 32); }
int32_t right_of(Pair pair) { return static_cast<int32_t>(pair & 0xFFFFFFFFu); }

struct Candidate {
  int64_t count;
  Pair pair;
};
// std::priority_queue puts the "largest" on top: the highest count, then the smallest pair.
struct LowerPriority {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.count != b.count ? a.count < b.count : a.pair > b.pair;
  }
};

// The corpus as distinct pieces (words) of symbols with their counts, the
// count of every adjacent pair, which words hold each pair, and a heap of
// candidates. The heap is lazy: an entry may hold a stale count, but every
// pair's largest entry is at least its true count, so an entry whose count
// is still true when it reaches the top is the true best pair.
class PairStatistics {
 public:
  PairStatistics(const PieceCountMap& pieces, int32_t first_byte_id) {
    for (const auto& [piece, count] : pieces) {
      if (piece.size() < 2) continue;  // no pair to merge
      std::vector<int32_t> symbols(piece.size());
      for (std::size_t i = 0; i < piece.size(); ++i) symbols[i] = first_byte_id + static_cast<unsigned char>(piece[i]);
      words_.push_back(std::move(symbols));
      word_counts_.push_back(count);
    }
    last_visit_.assign(words_.size(), -1);
    for (std::size_t w = 0; w < words_.size(); ++w) {
      const auto& s = words_[w];
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        const Pair p = pair_key(s[i], s[i + 1]);
        counts_[p] += word_counts_[w];
        auto& holders = where_[p];
        if (holders.empty() || holders.back() != static_cast<int32_t>(w)) holders.push_back(static_cast<int32_t>(w));
      }
    }
    for (const auto& [pair, count] : counts_) heap_.push({count, pair});
  }

  // The pair with the highest count (ties: smallest ids), taken off the heap.
  std::optional<Candidate> pop_best() {
    while (!heap_.empty()) {
      const Candidate c = heap_.top();
      heap_.pop();
      const auto it = counts_.find(c.pair);
      const int64_t current = it == counts_.end() ? 0 : it->second;
      if (current == c.count) return c;
      // Lower now: queue it again at its true count. Higher: a newer entry holds it.
      if (current > 0 && current < c.count) heap_.push({current, c.pair});
    }
    return std::nullopt;
  }

  // Replaces every occurrence of `pair` (left to right, not overlapping) by
  // `merged` and updates the counts of the pairs around it.
  void merge(Pair pair, int32_t merged) {
    auto node = where_.extract(pair);
    if (node.empty()) return;
    ++visit_;
    const int32_t left = left_of(pair), right = right_of(pair);
    std::vector<Pair> touched;
    for (const int32_t w : node.mapped()) {
      if (last_visit_[w] == visit_) continue;  // listed twice
      last_visit_[w] = visit_;
      auto& s = words_[w];
      bool holds = false;
      for (std::size_t i = 0; i + 1 < s.size() && !holds; ++i) holds = s[i] == left && s[i + 1] == right;
      if (!holds) continue;  // an earlier merge took the pair apart

      // Remove the word's pairs, merge, add them back: words are short, and
      // this is plainly right for runs like "a a a".
      const int64_t count = word_counts_[w];
      for (std::size_t i = 0; i + 1 < s.size(); ++i) add(pair_key(s[i], s[i + 1]), -count);
      std::size_t j = 0;
      for (std::size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == left && s[i + 1] == right) {
          s[j++] = merged;
          i += 2;
        } else {
          s[j++] = s[i++];
        }
      }
      s.resize(j);
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        const Pair p = pair_key(s[i], s[i + 1]);
        add(p, count);
        if (s[i] == merged || s[i + 1] == merged) {  // only these pairs are new or grew
          auto& holders = where_[p];
          if (holders.empty() || holders.back() != w) holders.push_back(w);
          touched.push_back(p);
        }
      }
    }
    counts_.erase(pair);  // the remove/add loops above left a zero entry
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (const Pair p : touched)
      if (const auto it = counts_.find(p); it != counts_.end() && it->second > 0) heap_.push({it->second, p});
  }

 private:
  void add(Pair p, int64_t delta) {
    const auto it = counts_.try_emplace(p, 0).first;
    it->second += delta;
    if (it->second == 0) counts_.erase(it);
  }

  std::vector<std::vector<int32_t>> words_;
  std::vector<int64_t> word_counts_;
  std::vector<int32_t> last_visit_;
  int32_t visit_ = 0;
  std::unordered_map<Pair, int64_t> counts_;
  std::unordered_map<Pair, std::vector<int32_t>> where_;
  std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> heap_;
};

}  // namespace

std::vector<std::string> special_tokens_with_bos_eos(const std::vector<std::string>& extra) {
  std::vector<std::string> all = {std::string(kBosToken), std::string(kEosToken)};
  for (const std::string& token : extra) {
    if (token.empty()) fail("special tokens must not be empty");
    if (!is_valid_utf8(token)) fail("special token \"", sanitize_utf8(token), "\" is not valid UTF-8");
    if (std::find(all.begin(), all.end(), token) != all.end())
      fail("special token \"", token, "\" is given twice (BOS and EOS are always included)");
    all.push_back(token);
  }
  return all;
}

TrainedBpe train_bpe(const PieceCountMap& pieces, const std::vector<std::string>& special_tokens,
                     const BpeTrainerOptions& options) {
  const auto specials = static_cast<int32_t>(special_tokens.size());
  if (options.vocab_size < specials + 256)
    fail("vocabulary size ", options.vocab_size, " is too small: the 256 byte tokens and ", specials,
         " special tokens need at least ", specials + 256);
  if (options.min_frequency < 1) fail("minimum pair frequency ", options.min_frequency, " must be at least 1");

  TrainedBpe out;
  out.special_tokens = special_tokens;
  out.tokens = special_tokens;
  std::unordered_map<std::string, int32_t> id_of_bytes;
  for (int b = 0; b < 256; ++b) {
    out.tokens.emplace_back(1, static_cast<char>(b));
    id_of_bytes.emplace(out.tokens.back(), out.byte_token(static_cast<unsigned char>(b)));
  }
  PairStatistics stats(pieces, out.byte_token(0));
  std::unordered_set<Pair> merged_before;
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  while (out.vocab_size() < options.vocab_size) {
    const auto best = stats.pop_best();
    if (!best) {
      out.stopped_early = "the corpus has no pair of adjacent tokens left to merge";
      break;
    }
    if (best->count < options.min_frequency) {
      out.stopped_early = "the most frequent remaining pair occurs " + std::to_string(best->count) +
                          " times, below the minimum frequency " + std::to_string(options.min_frequency);
      break;
    }
    const int32_t left = left_of(best->pair), right = right_of(best->pair);
    std::string bytes = out.tokens[left] + out.tokens[right];
    const auto [it, is_new] = id_of_bytes.try_emplace(std::move(bytes), out.vocab_size());
    if (is_new) out.tokens.push_back(it->first);
    // A pair merged before can reappear only when a later merge rebuilt one
    // of its tokens; its first rank already covers it when encoding.
    if (merged_before.insert(best->pair).second) out.merges.emplace_back(left, right);
    stats.merge(best->pair, it->second);

    const auto now = std::chrono::steady_clock::now();
    if (options.progress && now - last_report > std::chrono::seconds(2)) {
      last_report = now;
      std::fprintf(stderr, "merges: %zu, vocabulary %d of %d, last pair seen %lld times (%.0f s)\n",
                   out.merges.size(), out.vocab_size(), options.vocab_size, static_cast<long long>(best->count),
                   std::chrono::duration<double>(now - start).count());
    }
  }
  return out;
}

}  // namespace frugal
