#pragma once
// UTF-8 helpers: validation with replacement, code point iteration, and the
// length of the longest prefix that ends on a complete character (for
// streaming text without broken characters).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace frugal {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Appends the UTF-8 encoding of `cp` (must be a valid scalar value).
void append_utf8(std::string& out, char32_t cp);

// Length of the valid UTF-8 sequence starting at text[i], or 0 when the bytes
// there are not a valid sequence (overlong forms, surrogates, > U+10FFFF and
// truncated sequences are invalid). Decodes into *cp when valid.
std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t* cp = nullptr);

bool is_valid_utf8(std::string_view text);

// The offset of the first byte that starts no valid sequence, or npos when
// the whole text is valid (for warnings that point into a file).
std::size_t first_invalid_utf8(std::string_view text);

// Replaces each maximal invalid subpart with U+FFFD (the WHATWG / Unicode
// "substitution of maximal subparts" rule, as Python's errors="replace").
std::string sanitize_utf8(std::string_view text);

// The length of the longest prefix of `bytes` that does not end inside an
// incomplete (but so far valid) multi-byte sequence. Bytes that can never
// become valid count as complete (they decode to U+FFFD).
std::size_t complete_utf8_prefix(std::string_view bytes);

}  // namespace frugal
