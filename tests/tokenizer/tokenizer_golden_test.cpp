// The DeepSeek-V3 tokenizer against the golden encodings made with Hugging
// Face's tokenizers (594 texts in 25 categories): identical ids, and
// decode(encode(x)) == x for every text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "frugal/tokenizer/tokenizer.h"
#include "support/test_support.h"
#include "support/tokenizer.h"

namespace frugal {
namespace {

using json = nlohmann::json;

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> lines;
  std::istringstream in(test::read_bytes(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(json::parse(line));
  return lines;
}

TEST(TokenizerGolden, EncodesEveryGoldenTextIdentically) {
  const Tokenizer& tokenizer = test::deepseek_tokenizer();
  const auto cases = read_jsonl(test::data_path("tokenizer/golden_encode.jsonl"));
  ASSERT_EQ(cases.size(), 594u);
  int mismatches = 0;
  for (const json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const auto ids = tokenizer.encode(text, c["add_special_tokens"].get<bool>());
    const auto want = c["ids"].get<std::vector<int32_t>>();
    if (ids != want) {
      ++mismatches;
      ADD_FAILURE() << c["category"] << " " << json(text).dump() << "\n got  " << json(ids).dump()
                    << "\n want " << json(want).dump();
    }
    EXPECT_EQ(tokenizer.decode(ids), text) << json(text).dump();
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(TokenizerGolden, SpecialTokensAndConfig) {
  const Tokenizer& tokenizer = test::deepseek_tokenizer();
  EXPECT_EQ(tokenizer.vocab_size(), 128815);
  EXPECT_EQ(tokenizer.bos_id(), 0);
  EXPECT_EQ(tokenizer.eos_id(), 1);
  EXPECT_TRUE(tokenizer.add_bos_token());
  EXPECT_TRUE(tokenizer.is_special(0));
  EXPECT_FALSE(tokenizer.is_special(128803));  // <｜User｜> is an added, non-special token
  EXPECT_EQ(tokenizer.token_id("<｜User｜>"), 128803);
  EXPECT_EQ(tokenizer.token_bytes(223), " ");
  EXPECT_EQ(tokenizer.token_bytes(201), "\n");
  EXPECT_EQ(tokenizer.decode({0, 19923, 2058, 1}, /*skip_special_tokens=*/true), "Hello world");
  EXPECT_EQ(tokenizer.decode({0, 19923, 2058, 1}), "<｜begin▁of▁sentence｜>Hello world<｜end▁of▁sentence｜>");
}

}  // namespace
}  // namespace frugal
