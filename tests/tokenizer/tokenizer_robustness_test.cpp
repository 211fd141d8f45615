// The tokenizer on hostile input: malformed tokenizer.json files get errors
// that say what is wrong; arbitrary bytes never crash it and round-trip
// (invalid UTF-8 replaced by U+FFFD, as documented); long runs stay fast.
#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "frugal/tokenizer/byte_level.h"
#include "frugal/tokenizer/streaming_decoder.h"
#include "frugal/tokenizer/tokenizer.h"
#include "frugal/tokenizer/utf8.h"
#include "support/test_support.h"
#include "support/tokenizer.h"

namespace frugal {
namespace {

using json = nlohmann::json;

// A small valid byte-level tokenizer: 256 byte tokens, "h"+"i" -> "hi".
json mini_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_to_unicode()[b]] = b;
  vocab["hi"] = 256;
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"h i"}}}},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"added_tokens", {{{"id", 257}, {"content", "<eos>"}, {"special", true}}}}};
}

testing::AssertionResult rejected(const json& tokenizer, const std::vector<std::string>& parts) {
  return test::throws_error_mentioning([&] { Tokenizer::from_json(tokenizer.dump(), "", "t.json"); }, parts);
}

TEST(TokenizerRobustness, TheMiniTokenizerWorks) {
  const Tokenizer t = Tokenizer::from_json(mini_tokenizer().dump(), "", "t.json");
  // GPT-2 pieces "hi", " hi"; "h"+"i" merges inside each; "<eos>" is matched first.
  EXPECT_EQ(t.encode("hi hi<eos>"), (std::vector<int32_t>{256, 32, 256, 257}));
  EXPECT_EQ(t.decode({256, 257}, /*skip_special_tokens=*/true), "hi");
}

TEST(TokenizerRobustness, MalformedFilesAreRejectedClearly) {
  EXPECT_TRUE(test::throws_error_mentioning([] { Tokenizer::from_json("{\"model\": ", "", "t.json"); },
                                            {"t.json", "not valid JSON"}));
  json t = mini_tokenizer();
  t.erase("model");
  EXPECT_TRUE(rejected(t, {"t.json", "\"model\""}));
  t = mini_tokenizer();
  t["model"]["merges"] = {"h"};
  EXPECT_TRUE(rejected(t, {"merges[0]", "two tokens"}));
  t = mini_tokenizer();
  t["model"]["merges"] = {"h zz"};
  EXPECT_TRUE(rejected(t, {"merge 0", "not in the vocabulary"}));
  t = mini_tokenizer();
  t["model"]["vocab"].erase(byte_to_unicode()[0x41]);
  EXPECT_TRUE(rejected(t, {"byte 0x41"}));
  t = mini_tokenizer();
  t["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_TRUE(rejected(t, {"invalid regex", "(unclosed"}));
  t = mini_tokenizer();
  t["model"]["type"] = "WordPiece";
  EXPECT_TRUE(rejected(t, {"WordPiece"}));
  t = mini_tokenizer();
  t["normalizer"] = {{"type", "NFKC"}};
  EXPECT_TRUE(rejected(t, {"normalizer", "NFKC"}));
  t = mini_tokenizer();
  t["added_tokens"][0]["lstrip"] = true;
  EXPECT_TRUE(rejected(t, {"<eos>", "lstrip"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { Tokenizer::load("/nonexistent/tokenizer"); }, {"/nonexistent"}));
}

TEST(TokenizerRobustness, InvalidUtf8IsReplacedThenEncoded) {
  const Tokenizer& t = test::deepseek_tokenizer();
  const std::string bad = "ok\xC3(\xE2\x82\xFF end";
  const auto ids = t.encode(bad);
  EXPECT_EQ(t.decode(ids), "ok\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(ids, t.encode(sanitize_utf8(bad)));
}

TEST(TokenizerRobustness, ArbitraryBytesRoundTrip) {
  const Tokenizer& t = test::deepseek_tokenizer();
  std::mt19937 rng(2024);
  const std::vector<std::string> fragments = {"<｜User｜>", "<｜", "｜>", "<｜place▁holder▁no▁799｜>", "你好", "😀",
                                              "\r\n", "  ", "123456", "'s", "\xE2\x80", "\xF0\x9F"};
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    const int parts = static_cast<int>(rng() % 12);
    for (int p = 0; p < parts; ++p) {
      if (rng() % 3 == 0) {
        input += fragments[rng() % fragments.size()];
      } else {
        for (int n = static_cast<int>(rng() % 8); n > 0; --n) input += static_cast<char>(rng() % 256);
      }
    }
    const auto ids = t.encode(input);
    const std::string expected = sanitize_utf8(input);
    ASSERT_EQ(t.decode(ids), expected) << json(expected).dump();
    StreamingDecoder stream(t);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    ASSERT_EQ(streamed + stream.flush(), expected);
  }
}

TEST(TokenizerRobustness, LongRunsRoundTrip) {
  const Tokenizer& t = test::deepseek_tokenizer();
  std::string cjk;
  for (int i = 0; i < 3000; ++i) append_utf8(cjk, 0x4E00 + (i * 7919) % 20000);
  for (const std::string& text : {std::string(100000, ' '), std::string(50000, '7'), std::string(20000, '\n'), cjk,
                                  std::string(30000, 'a'), std::string(5000, '!') + "x"}) {
    const auto ids = t.encode(text);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(t.decode(ids), text);
  }
}

}  // namespace
}  // namespace frugal
