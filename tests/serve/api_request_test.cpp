// Request bodies as clients (and attackers) send them: every field the
// server reads, with every wrong JSON type, and random mutations of valid
// bodies. Each either parses or is a 400/404 ApiError naming its cause;
// nothing else escapes (the sanitizer build runs this too).
#include "frugal/serve/api_request.h"

#include <gtest/gtest.h>

#include <random>

#include "frugal/serve/api_error.h"
#include "support/tokenizer.h"

namespace frugal::serve {
namespace {

using nlohmann::json;

ServedModel served() {
  ServedModel s;
  s.name = std::string(1, 'm');
  s.tokenizer = &test::deepseek_tokenizer();
  s.chat_format = ChatFormat::DeepSeekV3;
  s.context = 4096;
  return s;
}

// Parses or throws ApiError with a 4xx status; returns the error's param ("" when parsed).
std::string outcome(const json& body, bool chat) {
  try {
    if (chat) parse_chat_request(body, served());
    else parse_completion_request(body, served());
    return "";
  } catch (const ApiError& e) {
    EXPECT_GE(e.status, 400);
    EXPECT_LT(e.status, 500);
    EXPECT_FALSE(std::string(e.what()).empty());
    return e.param.empty() ? "(no param)" : e.param;
  }
}

const json kChat = json::parse(R"({"model": "m", "messages": [{"role": "system", "content": "Be brief."},
  {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "reasoning_content": "x"},
  {"role": "user", "content": [{"type": "text", "text": "Again"}]}],
  "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 16, "temperature": 0.5, "top_p": 0.9,
  "top_k": 4, "min_p": 0.1, "seed": 3, "stop": ["x", "y"], "presence_penalty": 0.1, "frequency_penalty": 0.2,
  "repetition_penalty": 1.1, "n": 2, "logprobs": true, "top_logprobs": 3})");
const json kCompletion = json::parse(R"({"model": "m", "prompt": "Hello", "max_tokens": 8, "echo": true,
  "logprobs": 2, "stop": "z", "temperature": 0, "n": 1, "seed": -5})");

TEST(ApiRequest, ValidBodiesParse) {
  EXPECT_EQ(outcome(kChat, true), "");
  EXPECT_EQ(outcome(kCompletion, false), "");
  const ApiRequest r = parse_chat_request(kChat, served());
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.max_tokens, 16);
  EXPECT_EQ(r.top_logprobs, 3);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(r.prompt_text.find("reasoning"), std::string::npos);
  // Without max_tokens, the reply may fill the context.
  json open = kCompletion;
  open.erase("max_tokens");
  const ApiRequest c = parse_completion_request(open, served());
  EXPECT_EQ(c.max_tokens + static_cast<int64_t>(c.prompt.size()), 4096);
}

TEST(ApiRequest, EveryFieldOfTheWrongTypeIsNamed) {
  const std::vector<json> wrong = {json("text"), json(1.5), json(-1), json(true), json::array({1, "a"}),
                                   json::object({{"a", 1}})};
  for (const bool chat : {true, false}) {
    const json& base = chat ? kChat : kCompletion;
    for (const auto& [field, value] : base.items()) {
      for (const json& w : wrong) {
        json body = base;
        body[field] = w;
        const std::string param = outcome(body, chat);
        // A value may happen to be valid for the field (a number for a number); an error names the field.
        if (!param.empty() && param != "(no param)") {
          EXPECT_EQ(param.rfind(field, 0), 0u) << field << " = " << w.dump() << " named " << param;
        }
      }
    }
  }
}

TEST(ApiRequest, MessagesWithoutTextOrWithUnknownRolesAreRefused) {
  for (const char* messages : {R"([{"role": "user", "content": null}])", R"([{"role": "user"}])",
                               R"([{"role": "tool", "content": null}])", R"([{"role": "wizard", "content": "x"}])",
                               R"([{"content": "x"}])", R"([])", R"([{"role": "user", "content": [{"type": "image"}]}])"}) {
    json body = kChat;
    body["messages"] = json::parse(messages);
    EXPECT_EQ(outcome(body, true).rfind("messages", 0), 0u) << messages;
  }
}

// Random mutations of valid bodies: fields dropped, replaced by other JSON
// values, nested, or given huge numbers.
TEST(ApiRequest, RandomMutationsParseOrFailCleanly) {
  std::mt19937_64 rng(7);
  const std::vector<json> values = {nullptr, 0, -1, 1e308, -1e308, 9007199254740993ull, "", "\xff\xfe", json::array(),
                                    json::object(), true, 2.5, json::array({json::object()}), std::string(3000, 'a')};
  for (int i = 0; i < 3000; ++i) {
    const bool chat = i % 2 == 0;
    json body = chat ? kChat : kCompletion;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      std::vector<std::string> keys;
      for (const auto& [k, v] : body.items()) keys.push_back(k);
      if (keys.empty()) break;
      const std::string& key = keys[rng() % keys.size()];
      switch (rng() % 4) {
        case 0: body.erase(key); break;
        case 1: body[key] = values[rng() % values.size()]; break;
        case 2: body[key] = json::array({body[key]}); break;
        default:
          if (body[key].is_array() && !body[key].empty()) body[key][rng() % body[key].size()] = values[rng() % values.size()];
      }
    }
    outcome(body, chat);  // must not crash or throw anything but ApiError
  }
}

TEST(ApiRequest, MalformedJsonIsA400) {
  for (const char* text : {"", "{", "[1, 2]", "\"x\"", "{\"a\": }", "{\"a\": 1,}", "nul", "{\"a\": \"\\ud800\"}"}) {
    try {
      parse_body(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status, 400) << text;
    }
  }
}

}  // namespace
}  // namespace frugal::serve
