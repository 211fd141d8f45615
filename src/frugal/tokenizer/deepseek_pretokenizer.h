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

// The same with digits in groups of at most `digit_group` (1..3): 1 gives
// every digit a piece of its own, which column arithmetic wants.
std::vector<std::string> split_patterns_with_digit_group(int digit_group);

PreTokenizer deepseek_v3_pre_tokenizer(int digit_group = 3);

}  // namespace frugal
