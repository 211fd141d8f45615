#pragma once
// The DeepSeek-V3 tokenizer shipped in assets/, loaded once per test process
// (parsing its 7.8 MB tokenizer.json takes a moment).
#include <string>

#include "frugal/tokenizer/tokenizer.h"

namespace frugal::test {

inline std::string deepseek_tokenizer_dir() { return std::string(FRUGAL_SOURCE_DIR) + "/assets/tokenizer/deepseek-v3"; }

inline const Tokenizer& deepseek_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(deepseek_tokenizer_dir());
  return tokenizer;
}

}  // namespace frugal::test
