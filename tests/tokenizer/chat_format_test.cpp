// Chat rendering against the 40 golden renderings of DeepSeek-V3's template
// (made with Jinja2 as transformers runs it), plus the R1 convention.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "frugal/core/error.h"
#include "frugal/tokenizer/chat_format.h"
#include "support/test_support.h"
#include "support/tokenizer.h"

namespace frugal {
namespace {

using json = nlohmann::json;
const std::string kBos = "<｜begin▁of▁sentence｜>";

TEST(ChatFormat, RendersEveryGoldenConversation) {
  const Tokenizer& tokenizer = test::deepseek_tokenizer();
  std::istringstream in(test::read_bytes(test::data_path("tokenizer/golden_chat.jsonl")));
  int cases = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const json c = json::parse(line);
    ++cases;
    const auto messages = parse_messages(c["messages"]);
    const std::string text = render_chat(messages, c["add_generation_prompt"].get<bool>(),
                                         detect_chat_format(tokenizer.chat_template()), kBos);
    EXPECT_EQ(text, c["text"].get<std::string>()) << c["name"];
    const auto ids = tokenizer.encode(text);
    EXPECT_EQ(ids, c["ids"].get<std::vector<int32_t>>()) << c["name"];
    EXPECT_EQ(tokenizer.decode(ids), text) << c["name"];
  }
  EXPECT_EQ(cases, 40);
}

TEST(ChatFormat, DetectsTheFormatFromTheTemplate) {
  EXPECT_EQ(detect_chat_format(test::deepseek_tokenizer().chat_template()), ChatFormat::DeepSeekV3);
  EXPECT_EQ(detect_chat_format("{% set content = content.split('</think>')[-1] %}"), ChatFormat::DeepSeekR1);
}

TEST(ChatFormat, R1OpensReasoningAndDropsEarlierReasoning) {
  const auto messages = parse_messages(json::parse(R"([
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"},
    {"role": "user", "content": "and 3+3?"}])"));
  EXPECT_EQ(render_chat(messages, true, ChatFormat::DeepSeekR1, kBos),
            kBos + "<｜User｜>2+2?<｜Assistant｜>\n\n4<｜end▁of▁sentence｜><｜User｜>and 3+3?<｜Assistant｜><think>\n");
  // V3 keeps assistant content verbatim and opens no reasoning.
  EXPECT_EQ(render_chat(messages, true, ChatFormat::DeepSeekV3, kBos),
            kBos + "<｜User｜>2+2?<｜Assistant｜><think>\nadd them\n</think>\n\n4<｜end▁of▁sentence｜>"
                   "<｜User｜>and 3+3?<｜Assistant｜>");
}

TEST(ChatFormat, BadMessagesNameTheField) {
  EXPECT_TRUE(test::throws_error_mentioning([] { parse_messages(json::parse(R"([{"content": "x"}])")); },
                                            {"messages[0]", "role"}));
  EXPECT_TRUE(test::throws_error_mentioning(
      [] { parse_messages(json::parse(R"([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}])")); },
      {"messages[1]", "robot"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { parse_messages(json::parse(R"([{"role": "user"}])")); },
                                            {"messages[0]", "content"}));
  EXPECT_TRUE(test::throws_error_mentioning(
      [] { parse_messages(json::parse(R"([{"role": "user", "content": 5}])")); }, {"messages[0].content"}));
}

}  // namespace
}  // namespace frugal
