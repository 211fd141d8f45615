#include "frugal/tokenizer/deepseek_pretokenizer.h"

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

PreTokenizer deepseek_v3_pre_tokenizer() {
  PreTokenizer pre_tokenizer;
  const auto& patterns = deepseek_v3_split_patterns();
  for (std::size_t i = 0; i < patterns.size(); ++i)
    pre_tokenizer.add_split(patterns[i], "DeepSeek-V3 pre-tokenizer step " + std::to_string(i));
  return pre_tokenizer;
}

}  // namespace frugal
