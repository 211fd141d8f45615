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

  // Appends the ids of one pre-tokenized piece (raw UTF-8 bytes).
  void encode(std::string_view piece, std::vector<int32_t>& out) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const Merge* find(int32_t left, int32_t right) const {
    const auto it = merges_.find(key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  }

  int32_t byte_token_[256];
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace frugal
