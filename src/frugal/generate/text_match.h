#pragma once
// Small string helpers for streaming: how much of a text's end could be the
// start of a marker that has not fully arrived yet.
#include <cstddef>
#include <string_view>

namespace frugal {

// Length of the longest suffix of `text` that is a proper prefix of `marker`.
inline std::size_t partial_marker_suffix(std::string_view text, std::string_view marker) {
  const std::size_t longest = marker.size() > 0 ? marker.size() - 1 : 0;
  for (std::size_t n = longest < text.size() ? longest : text.size(); n > 0; --n)
    if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
  return 0;
}

}  // namespace frugal
