#include "frugal/tokenizer/deepseek_pretokenizer.h"

#include "frugal/core/error.h"

namespace frugal {

const std::vector<std::string>& deepseek_v3_split_patterns() {
  // The third pattern holds literal CR and LF characters (not the escapes
  // \r \n), exactly as the JSON file decodes; the raw strings are joined
  // around them. A test compares all three with the bundled tokenizer.json.
  static const std::vector<std::string> patterns = {
      R"(\p{N}{1,3})",
      "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
      R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^)re"
      "\r\n"
      R"re(\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[)re"
      "\r\n"
      R"re(]*|\s*[)re"
      "\r\n"
      R"re(]+|\s+(?!\S)|\s+)re",
  };
  return patterns;
}

std::vector<std::string> split_patterns_with_digit_group(int digit_group) {
  if (digit_group < 1 || digit_group > 3) fail("digits per piece must be 1, 2 or 3, got ", digit_group);
  std::vector<std::string> patterns = deepseek_v3_split_patterns();
  patterns[0] = digit_group == 1 ? R"(\p{N})" : R"(\p{N}{1,)" + std::to_string(digit_group) + "}";
  return patterns;
}

PreTokenizer deepseek_v3_pre_tokenizer(int digit_group) {
  PreTokenizer pre_tokenizer;
  const std::vector<std::string> patterns = split_patterns_with_digit_group(digit_group);
  for (std::size_t i = 0; i < patterns.size(); ++i)
    pre_tokenizer.add_split(patterns[i], "DeepSeek-V3 pre-tokenizer step " + std::to_string(i));
  return pre_tokenizer;
}

}  // namespace frugal
