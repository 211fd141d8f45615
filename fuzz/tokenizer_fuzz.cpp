// libFuzzer target: the tokenizer on arbitrary bytes. It must never crash,
// and byte-level BPE must be lossless: decode(encode(x)) is x for valid
// UTF-8 and x with invalid sequences replaced by U+FFFD otherwise; streaming
// decoding gives the same text.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "frugal/tokenizer/streaming_decoder.h"
#include "frugal/tokenizer/tokenizer.h"
#include "frugal/tokenizer/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const frugal::Tokenizer tokenizer =
      frugal::Tokenizer::load(std::string(FRUGAL_SOURCE_DIR) + "/assets/tokenizer/deepseek-v3");
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::vector<int32_t> ids = tokenizer.encode(input);
  const std::string expected = frugal::sanitize_utf8(input);
  if (tokenizer.decode(ids) != expected) std::abort();
  frugal::StreamingDecoder stream(tokenizer);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    if (!frugal::is_valid_utf8(piece)) std::abort();
    streamed += piece;
  }
  if (streamed + stream.flush() != expected) std::abort();
  return 0;
}
