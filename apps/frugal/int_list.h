#pragma once
// Comma-separated non-negative integers from a command-line flag
// ("1,2,3"), with an error that names the flag and the bad item.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "frugal/core/error.h"

namespace frugal::cli {

inline std::vector<int64_t> parse_int_list(const std::string& text, const char* flag, int64_t max_value) {
  std::vector<int64_t> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    std::size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 0 || value > max_value)
      fail(flag, ": \"", item, "\" is not a non-negative integer up to ", max_value,
           " (expected comma-separated values)");
    values.push_back(value);
  }
  if (values.empty()) fail(flag, ": no values given");
  return values;
}

}  // namespace frugal::cli
