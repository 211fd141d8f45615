#include "frugal/tokenizer/utf8.h"

namespace frugal {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

// How many bytes of a sequence starting at text[i] are a valid prefix of some
// well-formed character (Unicode Table 3-7), and its full length.
struct Prefix {
  std::size_t valid;   // bytes that fit the well-formed pattern so far
  std::size_t length;  // bytes the lead byte announces (0: invalid lead)
};

Prefix well_formed_prefix(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return {1, 1};
  std::size_t length;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {0, 0};
  }
  std::size_t n = 1;
  for (; n < length && i + n < text.size(); ++n) {
    const auto b = static_cast<unsigned char>(text[i + n]);
    const unsigned char low = n == 1 ? lo : 0x80, high = n == 1 ? hi : 0xBF;
    if (b < low || b > high) break;
  }
  return {n, length};
}

}  // namespace

std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t* cp) {
  const Prefix p = well_formed_prefix(text, i);
  if (p.length == 0 || p.valid != p.length) return 0;
  if (cp != nullptr) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    char32_t value = p.length == 1 ? b0 : b0 & (0xFF >> (p.length + 1));
    for (std::size_t n = 1; n < p.length; ++n) value = (value << 6) | (static_cast<unsigned char>(text[i + n]) & 0x3F);
    *cp = value;
  }
  return p.length;
}

bool is_valid_utf8(std::string_view text) { return first_invalid_utf8(text) == std::string_view::npos; }

std::size_t first_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const Prefix p = well_formed_prefix(text, i);
    if (p.length != 0 && p.valid == p.length) {
      out.append(text.substr(i, p.length));
      i += p.length;
    } else {
      append_utf8(out, kReplacementChar);
      i += p.valid == 0 ? 1 : p.valid;  // one U+FFFD per maximal subpart
    }
  }
  return out;
}

std::size_t complete_utf8_prefix(std::string_view bytes) {
  // Only the last three bytes can start an unfinished character.
  const std::size_t start = bytes.size() > 3 ? bytes.size() - 3 : 0;
  for (std::size_t i = start; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: not a start
    const Prefix p = well_formed_prefix(bytes, i);
    if (p.length > 1 && p.valid == bytes.size() - i && p.valid < p.length) return i;
  }
  return bytes.size();
}

}  // namespace frugal
