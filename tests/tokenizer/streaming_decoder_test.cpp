// Streaming detokenization never emits a broken character, whatever the
// token boundaries, and the pieces add up to the full decode.
#include <gtest/gtest.h>

#include "frugal/tokenizer/streaming_decoder.h"
#include "frugal/tokenizer/byte_level.h"
#include "frugal/tokenizer/utf8.h"
#include "support/tokenizer.h"

namespace frugal {
namespace {

TEST(StreamingDecoder, MultiByteCharactersSplitAcrossTokensArriveWhole) {
  const Tokenizer& tokenizer = test::deepseek_tokenizer();
  // Byte tokens (ids 3..258) split every character into single bytes.
  const std::string text = "añ中😀 done";
  std::vector<int32_t> byte_ids;
  for (unsigned char b : text) {
    const auto id = tokenizer.token_id(byte_to_unicode()[b]);
    ASSERT_TRUE(id.has_value());
    byte_ids.push_back(*id);
  }
  StreamingDecoder decoder(tokenizer);
  std::string streamed;
  std::vector<std::string> pieces;
  for (int32_t id : byte_ids) {
    std::string piece = decoder.push(id);
    EXPECT_TRUE(is_valid_utf8(piece)) << "broken character emitted";
    if (!piece.empty()) pieces.push_back(piece);
    streamed += piece;
  }
  streamed += decoder.flush();
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "ñ", "中", "😀", " ", "d", "o", "n", "e"}));
}

TEST(StreamingDecoder, RealEncodingsStreamToTheSameText) {
  const Tokenizer& tokenizer = test::deepseek_tokenizer();
  for (const std::string text : {"你好，世界！今天天气不错。", "emoji: 👍🏽👨‍👩‍👧 done", "naïve café ĳ", "東京タワーへ行く"}) {
    StreamingDecoder decoder(tokenizer);
    std::string streamed;
    for (int32_t id : tokenizer.encode(text)) {
      const std::string piece = decoder.push(id);
      EXPECT_TRUE(is_valid_utf8(piece));
      streamed += piece;
    }
    EXPECT_EQ(streamed + decoder.flush(), text);
  }
}

TEST(StreamingDecoder, InvalidBytesBecomeReplacementCharacters) {
  const Tokenizer& tokenizer = test::deepseek_tokenizer();
  StreamingDecoder decoder(tokenizer);
  const auto byte = [&](unsigned char b) { return *tokenizer.token_id(byte_to_unicode()[b]); };
  EXPECT_EQ(decoder.push(byte(0xFF)), "\xEF\xBF\xBD");  // can never start a character
  EXPECT_EQ(decoder.push(byte(0xE4)), "");              // a 3-byte lead: wait
  EXPECT_EQ(decoder.push(byte(0xB8)), "");
  EXPECT_EQ(decoder.push(byte('x')), "\xEF\xBF\xBDx");  // cut short: U+FFFD, then x
  EXPECT_EQ(decoder.push(byte(0xF0)), "");
  EXPECT_EQ(decoder.flush(), "\xEF\xBF\xBD");  // unfinished at the end
}

TEST(StreamingDecoder, SkipsSpecialTokensWhenAsked) {
  const Tokenizer& tokenizer = test::deepseek_tokenizer();
  StreamingDecoder decoder(tokenizer, /*skip_special_tokens=*/true);
  EXPECT_EQ(decoder.push(0), "");
  EXPECT_EQ(decoder.push(19923), "Hello");
  EXPECT_EQ(decoder.push(1), "");
}

}  // namespace
}  // namespace frugal
