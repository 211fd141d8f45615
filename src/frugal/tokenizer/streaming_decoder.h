#pragma once
// Turns a stream of token ids into text that never contains a broken UTF-8
// character: a token may end in the middle of a multi-byte character, so its
// bytes wait until the character is complete. Bytes that can never form a
// valid character are emitted as U+FFFD.
#include <cstdint>
#include <string>

#include "frugal/tokenizer/tokenizer.h"

namespace frugal {

class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false)
      : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}

  // The text that token `id` completes (possibly empty).
  std::string push(int32_t id);
  // Whatever is still pending, with an unfinished character as U+FFFD.
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace frugal
