#pragma once
// The statistics a BPE trainer learns from: how often each pre-tokenized
// piece occurs in a corpus. Text is cut exactly as Tokenizer::encode cuts it:
// special tokens first (leftmost, longest), then the DeepSeek-V3
// pre-tokenizer on the text between them, so the merges are learnt on the
// pieces they will later be applied to.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "frugal/tokenizer/pretokenizer.h"

namespace frugal {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using PieceCountMap = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

class PieceCounter {
 public:
  // `special_tokens` are cut out of the text and never counted. Large texts
  // are pre-tokenized in parallel in chunks of about `chunk_bytes`, cut at
  // the start of a line that begins with a visible ASCII character: no piece
  // of the pre-tokenizer crosses such a point, so chunking changes nothing.
  // `digit_group`: digits per piece (deepseek_pretokenizer.h).
  explicit PieceCounter(std::vector<std::string> special_tokens, std::size_t chunk_bytes = 1 << 20,
                        int digit_group = 3);

  // Counts the pieces of `text`. Invalid UTF-8 is replaced by U+FFFD first,
  // as Tokenizer::encode does; returns the offset of the first invalid byte
  // (npos when the text is valid) so callers can warn.
  std::size_t add_text(std::string_view text);
  // Reads and counts a file; errors name it. With `progress`, a line per
  // file on stderr (and a warning naming the first invalid UTF-8 byte).
  void add_file(const std::string& path, bool progress);

  const PieceCountMap& counts() const { return counts_; }
  int64_t bytes() const { return bytes_; }
  int64_t pieces() const { return pieces_; }

 private:
  std::vector<std::string> special_tokens_;
  std::size_t chunk_bytes_;
  PreTokenizer pre_tokenizer_;
  PieceCountMap counts_;
  int64_t bytes_ = 0;
  int64_t pieces_ = 0;
};

}  // namespace frugal
