// Tool calls: DeepSeek-V3's markup parsed out of a reply however it is cut
// into pieces, the calls in OpenAI's shape with finish_reason "tool_calls",
// and the request side (tools offered in the system prompt, a named call
// forced by the prompt, bad tool fields named).
#include "frugal/serve/tool_calls.h"

#include <gtest/gtest.h>

#include "frugal/serve/api_error.h"
#include "frugal/serve/api_request.h"
#include "frugal/serve/api_response.h"
#include "frugal/serve/choice.h"
#include "support/tokenizer.h"

namespace frugal::serve {
namespace {

using nlohmann::json;

// A reply as DeepSeek-V3 writes one (its chat template's markup), with
// content before the calls and a stray tail after them.
const std::string kRecordedReply =
    "Let me check both cities.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n"
    "```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n"
    "```json\n{\"city\": \"東京\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";

TEST(ToolCallParser, FindsContentAndEveryCallWhateverThePieces) {
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{7}, kRecordedReply.size()}) {
    ToolCallParser parser;
    std::vector<ToolCall> calls;
    std::string content;
    for (std::size_t at = 0; at < kRecordedReply.size(); at += piece)
      content += parser.push(std::string_view(kRecordedReply).substr(at, piece), calls);
    content += parser.flush();
    EXPECT_EQ(content, "Let me check both cities.") << piece;
    ASSERT_EQ(calls.size(), 2u) << piece;
    EXPECT_EQ(calls[0].name, "get_weather");
    EXPECT_EQ(calls[0].arguments, "{\"city\": \"Paris\"}");
    EXPECT_EQ(calls[1].arguments, "{\"city\": \"東京\"}");
    EXPECT_EQ(calls[1].type, "function");
  }
}

TEST(ToolCallParser, TextWithoutCallsIsContentAndAnUnfinishedCallIsDropped) {
  ToolCallParser plain;
  std::vector<ToolCall> calls;
  std::string content = plain.push("a < b and <｜tool", calls);
  EXPECT_EQ(content, "a < b and ");
  content += plain.flush();
  EXPECT_EQ(content, "a < b and <｜tool");
  ToolCallParser cut;
  EXPECT_EQ(cut.push("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{\"x\":", calls), "");
  EXPECT_EQ(cut.flush(), "");
  EXPECT_TRUE(calls.empty());
}

ApiRequest request_with_tools() {
  ApiRequest r;
  r.tools = parse_tool_request(json::parse(R"({"tools": [{"type": "function", "function": {"name": "get_weather",
      "parameters": {"type": "object"}}}]})"));
  return r;
}

TEST(ToolCallChoice, StreamsCallsAsDeltasAndFinishesWithToolCalls) {
  const ApiRequest request = request_with_tools();
  Choice choice(0, request);
  std::vector<ChoiceDelta> deltas;
  for (std::size_t at = 0; at < kRecordedReply.size(); at += 5) {
    SequenceEvent e;
    e.text = kRecordedReply.substr(at, 5);
    choice.apply(e, &deltas);
  }
  SequenceEvent end;
  end.kind = SequenceEvent::Kind::Finished;
  end.stop_reason = StopReason::EndToken;
  choice.apply(end, &deltas);
  EXPECT_EQ(choice.finish_reason(), "tool_calls");
  EXPECT_EQ(choice.content(), "Let me check both cities.");
  ASSERT_EQ(choice.tool_calls().size(), 2u);
  int streamed_calls = 0;
  for (const ChoiceDelta& d : deltas) {
    for (std::size_t i = 0; i < d.tool_calls.size(); ++i) {
      EXPECT_EQ(d.first_call_index + static_cast<int>(i), streamed_calls);
      ++streamed_calls;
    }
  }
  EXPECT_EQ(streamed_calls, 2);

  const ResponseHeader header{"chatcmpl-abc", 1, "m"};
  const json body = chat_completion_json(header, {choice}, request, test::deepseek_tokenizer());
  const json& message = body["choices"][0]["message"];
  EXPECT_EQ(body["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(message["tool_calls"][1]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(message["tool_calls"][1]["function"]["arguments"].get<std::string>())["city"], "東京");
  EXPECT_NE(message["tool_calls"][0]["id"], message["tool_calls"][1]["id"]);
}

TEST(ToolRequests, NamedChoiceIsForcedByThePromptAndToolsAreOffered) {
  ServedModel served;
  served.name = "m";
  served.tokenizer = &test::deepseek_tokenizer();
  served.chat_format = ChatFormat::DeepSeekV3;
  const json body = json::parse(R"({"messages": [{"role": "user", "content": "Weather in Paris?"}],
      "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
      "tool_choice": {"type": "function", "function": {"name": "get_weather"}}})");
  const ApiRequest r = parse_chat_request(body, served);
  EXPECT_NE(r.prompt_text.find("Current weather"), std::string::npos);
  EXPECT_EQ(r.prompt_text.rfind("<｜Assistant｜>"), r.prompt_text.size() - r.reply_prefix.size() - std::string("<｜Assistant｜>").size());
  EXPECT_NE(r.reply_prefix.find("get_weather\n```json\n"), std::string::npos);
  // The model continues the forced call: its arguments complete it.
  Choice choice(0, r);
  SequenceEvent e;
  e.text = "{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
  choice.apply(e, nullptr);
  ASSERT_EQ(choice.tool_calls().size(), 1u);
  EXPECT_EQ(choice.tool_calls()[0].name, "get_weather");
  EXPECT_EQ(choice.tool_calls()[0].arguments, "{\"city\": \"Paris\"}");
}

TEST(ToolRequests, BadToolFieldsAreNamed) {
  auto param_of = [](const std::string& body) {
    try {
      parse_tool_request(json::parse(body));
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status, 400);
      return e.param;
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(param_of(R"({"tools": {}})"), "tools");
  EXPECT_EQ(param_of(R"({"tools": [{"type": "function", "function": {}}]})"), "tools[0].function.name");
  EXPECT_EQ(param_of(R"({"tools": [{"type": "function", "function": {"name": "f", "parameters": 3}}]})"),
            "tools[0].function.parameters");
  EXPECT_EQ(param_of(R"({"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "maybe"})"),
            "tool_choice");
  EXPECT_EQ(param_of(R"({"tools": [{"type": "function", "function": {"name": "f"}}],
                         "tool_choice": {"type": "function", "function": {"name": "g"}}})"), "tool_choice");
  EXPECT_EQ(param_of(R"({"tool_choice": "required"})"), "tool_choice");
  EXPECT_EQ(param_of(R"({"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"})"), "(accepted)");
}

}  // namespace
}  // namespace frugal::serve
