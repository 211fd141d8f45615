#pragma once
// Token sequences given as JSON: {"sequences": [[id, ...], ...]} (the
// goldens' inputs.json) or a bare list of lists.
#include <cstdint>
#include <string>
#include <vector>

namespace frugal {

// Fails naming the file and the offending sequence or element.
std::vector<std::vector<int32_t>> parse_token_sequences(const std::string& json_text, const std::string& source);
std::vector<std::vector<int32_t>> read_token_sequences(const std::string& path);

}  // namespace frugal
