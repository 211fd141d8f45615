#include "frugal/tokenizer/streaming_decoder.h"

#include "frugal/tokenizer/utf8.h"

namespace frugal {

std::string StreamingDecoder::push(int32_t id) {
  if (skip_special_ && tokenizer_.is_special(id)) return "";
  pending_ += tokenizer_.token_bytes(id);
  const std::size_t complete = complete_utf8_prefix(pending_);
  std::string text = sanitize_utf8(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return text;
}

std::string StreamingDecoder::flush() {
  std::string text = sanitize_utf8(pending_);
  pending_.clear();
  return text;
}

}  // namespace frugal
