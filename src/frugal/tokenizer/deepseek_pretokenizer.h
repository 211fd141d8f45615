#pragma once
// The pre-tokenizer of the DeepSeek-V3 tokenizer (the three Split regexes of
// assets/tokenizer/deepseek-v3/tokenizer.json, in order): digits in groups of
// up to three, runs of CJK ideographs and kana, then words, punctuation and
// whitespace. Tokenizers frugal trains use it too, so their pieces are
// DeepSeek's pieces.
#include <string>
#include <vector>

#include "frugal/tokenizer/pretokenizer.h"

namespace frugal {

// The regexes as tokenizer.json spells them (Oniguruma dialect).
const std::vector<std::string>& deepseek_v3_split_patterns();

PreTokenizer deepseek_v3_pre_tokenizer();

}  // namespace frugal
