#pragma once
// Byte-level BPE (GPT-2 / Hugging Face "BPE" model without byte fallback):
// a piece's bytes start as single-byte tokens, then the adjacent pair with the
// lowest merge rank is merged, leftmost first, until no pair has a merge.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace frugal {

class BytePairEncoder {
 public:
  // `vocab`: token string (byte-level alphabet) -> id. `merges`: pairs of
  // token strings in rank order. `source` names the file in errors.
  BytePairEncoder(const std::unordered_map<std::string, int32_t>& vocab,
                  const std::vector<std::pair<std::string, std::string>>& merges,
                  const std::string& source);

  // Appends the ids of one pre-tokenized piece (raw UTF-8 bytes). Results
  // for pieces of up to kCachedPieceBytes are remembered per thread: words
  // repeat, and a lookup is much cheaper than merging.
  void encode(std::string_view piece, std::vector<int32_t>& out) const;

  static constexpr std::size_t kCachedPieceBytes = 64;
  // Forgets this thread's cached pieces (benchmarks of a cold start).
  static void clear_thread_cache();

 private:
  void merge(std::string_view piece, std::vector<int32_t>& out) const;

  // The merge table is the hot spot of encoding: an open-addressing hash
  // table (linear probing, power-of-two size, at most half full) keyed by the
  // pair of ids, one cache line probe in the common case.
  struct Merge {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t result = 0;
  };
  static constexpr uint64_t kEmpty = ~0ull;
  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  static uint64_t slot_of(uint64_t key) {  // a multiplicative hash's high bits
    return (key * 0x9E3779B97F4A7C15ull) >> 32;
  }
  const Merge* find(int32_t left, int32_t right) const {
    const uint64_t k = key(left, right);
    for (uint64_t slot = slot_of(k) & mask_;; slot = (slot + 1) & mask_) {
      const Merge& m = table_[slot];
      if (m.key == k) return &m;
      if (m.key == kEmpty) return nullptr;
    }
  }

  int32_t byte_token_[256];
  uint64_t instance_;  // tells per-thread caches of different encoders apart
  std::vector<Merge> table_;
  uint64_t mask_ = 0;
};

}  // namespace frugal
