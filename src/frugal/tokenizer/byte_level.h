#pragma once
// GPT-2's byte <-> printable character alphabet used by byte-level BPE: the
// 188 printable bytes map to themselves, the other 68 to U+0100 upwards, so
// every byte string becomes a visible token string (space -> "Ġ").
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace frugal {

// The UTF-8 text of the stand-in character for each byte.
const std::array<std::string, 256>& byte_to_unicode();

// Maps a token string of stand-in characters back to bytes; nullopt when it
// contains a character outside the alphabet.
std::optional<std::string> unicode_to_bytes(std::string_view token);

}  // namespace frugal
