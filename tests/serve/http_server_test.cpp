// frugal serve's HTTP side, driven over loopback with cpp-httplib's client:
// answers in OpenAI's shapes (plain and streamed), reasoning kept apart,
// usage and prefix-cache figures, and every kind of bad request answered
// with an error that names what is wrong.
#include "frugal/serve/http_server.h"

#include <httplib.h>
#include <gtest/gtest.h>

#include <thread>

#include "frugal/generate/generator.h"
#include "frugal/generate/reasoning.h"
#include "frugal/generate/session.h"
#include "support/test_support.h"

namespace frugal::serve {
namespace {

using nlohmann::json;

const std::string kModelDir = std::string(FRUGAL_SOURCE_DIR) + "/models/nano-r1";

// nano-r1 served on a free loopback port, with an API key.
class ServerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new Model(kModelDir);
    tokenizer_ = new Tokenizer(Tokenizer::load(kModelDir));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tokenizer_;
  }

  void SetUp() override {
    ServerOptions options;
    options.port = 0;
    options.api_key = "secret";
    options.max_body_bytes = 64 * 1024;
    options.http_threads = 8;
    server_ = std::make_unique<HttpServer>(options);
    port_ = server_->bind();
    listener_ = std::thread([this] { server_->listen(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_bearer_token_auth("secret");
    client_->set_read_timeout(30, 0);
  }
  void TearDown() override {
    server_->stop();
    listener_.join();
    engine_.reset();
  }
  void attach(int64_t context = 256, int max_queue = 256) {
    EngineOptions options;
    options.context = context;
    options.max_queue = max_queue;
    options.prefix_cache_bytes = 4 << 20;
    engine_ = std::make_unique<Engine>(*model_, tokenizer_, options);
    ServedModel served;
    served.name = "nano-r1";
    served.tokenizer = tokenizer_;
    served.chat_format = detect_chat_format(tokenizer_->chat_template());
    served.context = context;
    served.stop_tokens = {*tokenizer_->eos_id()};
    server_->attach(*engine_, served);
  }
  httplib::Result post(const std::string& path, const json& body) {
    return client_->Post(path.c_str(), body.dump(), "application/json");
  }
  // The error object of a response that must fail with `status`.
  json error_of(const httplib::Result& r, int status) {
    EXPECT_TRUE(r);
    if (!r) return json::object();
    EXPECT_EQ(r->status, status) << r->body;
    const json body = json::parse(r->body);
    EXPECT_TRUE(body.contains("error")) << r->body;
    EXPECT_TRUE(body["error"]["message"].is_string());
    EXPECT_TRUE(body["error"]["type"].is_string());
    return body["error"];
  }
  // Greedy reply through the single-sequence generator, as frugal generate runs it.
  std::string generate_greedy(const std::string& question) {
    const std::string prompt_text = render_chat({{"user", question, {}}}, true, ChatFormat::Compact,
                                                tokenizer_->token_string(*tokenizer_->bos_id()));
    Session session(*model_, 256);
    GenerationOptions options;
    options.sampling.temperature = 0.0f;
    options.max_new_tokens = 128;
    options.stop_tokens = {*tokenizer_->eos_id()};
    return generate(session, tokenizer_->encode(prompt_text), options, tokenizer_).text;
  }

  static Model* model_;
  static Tokenizer* tokenizer_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread listener_;
  int port_ = 0;
};
Model* ServerTest::model_ = nullptr;
Tokenizer* ServerTest::tokenizer_ = nullptr;

const json kQuestion = {{"role", "user"}, {"content", "Compute 123 + 989"}};

TEST_F(ServerTest, HealthIsUnavailableUntilTheModelIsAttached) {
  auto r = client_->Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  error_of(post("/v1/chat/completions", {{"messages", {kQuestion}}}), 503);
  attach();
  r = client_->Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["status"], "ok");
}

TEST_F(ServerTest, ChatKeepsReasoningApartAndMatchesTheGenerator) {
  attach();
  const auto r = post("/v1/chat/completions", {{"model", "nano-r1"}, {"messages", {kQuestion}}, {"temperature", 0}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body);
  EXPECT_EQ(body["object"], "chat.completion");
  const json& message = body["choices"][0]["message"];
  EXPECT_EQ(message["role"], "assistant");
  const auto [reasoning, answer] = split_reasoning(generate_greedy("Compute 123 + 989"), false);
  EXPECT_EQ(message["reasoning_content"], reasoning);
  EXPECT_EQ(message["content"], answer);
  EXPECT_NE(answer.find("<answer> 1112 </answer>"), std::string::npos) << answer;
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  const json& usage = body["usage"];
  EXPECT_EQ(usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>(), usage["total_tokens"].get<int>());
  EXPECT_GT(usage["completion_tokens_details"]["reasoning_tokens"].get<int>(), 0);
  EXPECT_LT(usage["completion_tokens_details"]["reasoning_tokens"].get<int>(), usage["completion_tokens"].get<int>());
  EXPECT_EQ(usage["prompt_cache_hit_tokens"].get<int>() + usage["prompt_cache_miss_tokens"].get<int>(),
            usage["prompt_tokens"].get<int>());
}

TEST_F(ServerTest, StreamSendsRoleThenReasoningThenContentThenFinishUsageAndDone) {
  attach();
  const json request = {{"messages", {kQuestion}}, {"temperature", 0}, {"stream", true},
                        {"stream_options", {{"include_usage", true}}}};
  const auto r = post("/v1/chat/completions", request);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  std::vector<json> chunks;
  bool done = false;
  std::size_t at = 0;
  while ((at = r->body.find("data: ", at)) != std::string::npos) {
    const std::size_t end = r->body.find("\n\n", at);
    ASSERT_NE(end, std::string::npos);
    const std::string data = r->body.substr(at + 6, end - at - 6);
    at = end;
    ASSERT_FALSE(done) << "data after [DONE]";
    if (data == "[DONE]") done = true;
    else chunks.push_back(json::parse(data));
  }
  ASSERT_TRUE(done);
  ASSERT_GE(chunks.size(), 4u);
  EXPECT_EQ(chunks.front()["choices"][0]["delta"]["role"], "assistant");
  std::string reasoning, content;
  bool content_started = false;
  for (std::size_t i = 1; i + 2 < chunks.size(); ++i) {
    const json& delta = chunks[i]["choices"][0]["delta"];
    EXPECT_TRUE(chunks[i]["choices"][0]["finish_reason"].is_null());
    if (delta.contains("reasoning_content")) {
      EXPECT_FALSE(content_started) << "reasoning after the answer began";
      reasoning += delta["reasoning_content"].get<std::string>();
    }
    if (delta.contains("content")) {
      content_started = true;
      content += delta["content"].get<std::string>();
    }
  }
  EXPECT_EQ(chunks[chunks.size() - 2]["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(chunks.back()["choices"].empty());
  EXPECT_GT(chunks.back()["usage"]["completion_tokens"].get<int>(), 0);
  const auto plain = json::parse(post("/v1/chat/completions", {{"messages", {kQuestion}}, {"temperature", 0}})->body);
  EXPECT_EQ(reasoning, plain["choices"][0]["message"]["reasoning_content"]);
  EXPECT_EQ(content, plain["choices"][0]["message"]["content"]);
}

TEST_F(ServerTest, SecondTurnReusesTheFirstTurnsCache) {
  attach();
  const auto first = json::parse(post("/v1/chat/completions", {{"messages", {kQuestion}}, {"temperature", 0}})->body);
  const int first_prompt = first["usage"]["prompt_tokens"];
  const int first_reply = first["usage"]["completion_tokens"];
  const json& reply = first["choices"][0]["message"];
  const json second_messages = {kQuestion,
                                {{"role", "assistant"}, {"content", reply["content"]}, {"reasoning_content", reply["reasoning_content"]}},
                                {{"role", "user"}, {"content", "Compute 5 + 7"}}};
  const auto second = json::parse(post("/v1/chat/completions", {{"messages", second_messages}, {"temperature", 0}})->body);
  // The compact format drops the reasoning from earlier turns (as R1 does), so
  // the cached part is the first prompt; the DeepSeek-V3 format would keep the reply too.
  EXPECT_GE(second["usage"]["prompt_cache_hit_tokens"].get<int>(), first_prompt);
  EXPECT_LT(second["usage"]["prompt_cache_hit_tokens"].get<int>(), first_prompt + first_reply);
}

TEST_F(ServerTest, TextCompletionsEchoLogprobsAndStopStrings) {
  attach();
  auto r = post("/v1/completions", {{"prompt", "Compute 2 + 3\n"}, {"temperature", 0}, {"echo", true}, {"logprobs", 2},
                                    {"max_tokens", 40}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json body = json::parse(r->body);
  const std::string text = body["choices"][0]["text"];
  EXPECT_EQ(text.rfind("Compute 2 + 3\n", 0), 0u) << text;
  const json& lp = body["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"].size(), body["usage"]["completion_tokens"].get<std::size_t>());
  for (std::size_t i = 0; i < lp["tokens"].size(); ++i) {
    EXPECT_LE(lp["token_logprobs"][i].get<double>(), 0.0);
    EXPECT_EQ(lp["top_logprobs"][i].size(), 2u);
  }
  // Greedy: the chosen token is the most likely one.
  for (std::size_t i = 0; i < lp["tokens"].size(); ++i) {
    double best = -1e30;
    for (const auto& [token, value] : lp["top_logprobs"][i].items()) best = std::max(best, value.get<double>());
    EXPECT_DOUBLE_EQ(lp["token_logprobs"][i].get<double>(), best);
  }
  r = post("/v1/completions", {{"prompt", "Compute 2 + 3\n"}, {"temperature", 0}, {"stop", "</think>"}});
  body = json::parse(r->body);
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["choices"][0]["text"].get<std::string>().find("</think>"), std::string::npos);
  EXPECT_NE(body["choices"][0]["text"].get<std::string>().find("<think>"), std::string::npos);
  // Token ids work as a prompt too.
  const std::vector<int32_t> ids = tokenizer_->encode("Compute 2 + 3\n");
  r = post("/v1/completions", {{"prompt", ids}, {"temperature", 0}, {"max_tokens", 3}});
  EXPECT_EQ(json::parse(r->body)["usage"]["prompt_tokens"], ids.size());
}

TEST_F(ServerTest, TokenizeDetokenizeModelsAndMetrics) {
  attach();
  auto r = post("/tokenize", {{"content", "Compute 7 + 8"}});
  const json ids = json::parse(r->body)["tokens"];
  EXPECT_EQ(ids.get<std::vector<int32_t>>(), tokenizer_->encode("Compute 7 + 8"));
  r = post("/detokenize", {{"tokens", ids}});
  EXPECT_EQ(json::parse(r->body)["content"], "Compute 7 + 8");
  r = client_->Get("/v1/models");
  EXPECT_EQ(json::parse(r->body)["data"][0]["id"], "nano-r1");
  post("/v1/chat/completions", {{"messages", {kQuestion}}, {"max_tokens", 5}});
  r = client_->Get("/metrics");
  ASSERT_EQ(r->status, 200);
  for (const char* name : {"frugal_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 1",
                           "frugal_generated_tokens_total 5", "frugal_running_sequences 0",
                           "frugal_time_to_first_token_seconds_count 1", "frugal_kv_cache_budget_bytes"})
    EXPECT_NE(r->body.find(name), std::string::npos) << name << "\n" << r->body;
}

TEST_F(ServerTest, BadRequestsGetErrorsNamingTheirCause) {
  attach(64);
  httplib::Client anonymous("127.0.0.1", port_);
  auto r = anonymous.Post("/v1/chat/completions", json{{"messages", {kQuestion}}}.dump(), "application/json");
  EXPECT_EQ(error_of(r, 401)["code"], "invalid_api_key");
  anonymous.set_bearer_token_auth("secreT");
  r = anonymous.Post("/v1/chat/completions", json{{"messages", {kQuestion}}}.dump(), "application/json");
  error_of(r, 401);

  r = client_->Post("/v1/chat/completions", "{\"messages\": [", "application/json");
  EXPECT_NE(error_of(r, 400)["message"].get<std::string>().find("malformed JSON"), std::string::npos);
  EXPECT_EQ(error_of(post("/v1/chat/completions", {{"messages", {kQuestion}}, {"temperature", "hot"}}), 400)["param"],
            "temperature");
  EXPECT_EQ(error_of(post("/v1/chat/completions", {{"messages", {kQuestion}}, {"top_p", 3}}), 400)["param"], "top_p");
  EXPECT_EQ(error_of(post("/v1/chat/completions", {{"messages", {kQuestion}}, {"n", 1000}}), 400)["param"], "n");
  EXPECT_EQ(error_of(post("/v1/chat/completions", {{"messages", {kQuestion}}, {"stop", {1, 2}}}), 400)["param"], "stop");
  EXPECT_EQ(error_of(post("/v1/chat/completions", {{"messages", "hello"}}), 400)["param"], "messages");
  EXPECT_EQ(error_of(post("/v1/chat/completions", {{"messages", {{{"role", "user"}}}}}), 400)["param"], "messages");
  EXPECT_EQ(error_of(post("/v1/chat/completions", {{"messages", {kQuestion}}, {"model", "gpt-4"}}), 404)["code"],
            "model_not_found");
  // Prompt plus max_tokens over the context: both numbers in the message.
  const json long_request = {{"messages", {kQuestion}}, {"max_tokens", 60}};
  const std::string message = error_of(post("/v1/chat/completions", long_request), 400)["message"];
  EXPECT_NE(message.find("60"), std::string::npos) << message;
  EXPECT_NE(message.find("64"), std::string::npos) << message;
  const json too_long = {{"prompt", std::string(500, '7')}};
  EXPECT_EQ(error_of(post("/v1/completions", too_long), 400)["param"], "prompt");

  r = client_->Post("/v1/chat/completions", std::string(100 * 1024, ' '), "application/json");
  error_of(r, 413);
  error_of(client_->Get("/v1/nothing"), 404);
  r = client_->Get("/v1/chat/completions");
  error_of(r, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  error_of(client_->Delete("/v1/models"), 405);
  // Unknown fields are ignored; the server still answers.
  r = post("/v1/chat/completions", {{"messages", {kQuestion}}, {"max_tokens", 3}, {"frobnicate", true}});
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(ServerTest, AFullQueueAnswers429WithRetryAfter) {
  attach(256, /*max_queue=*/0);
  const auto r = post("/v1/chat/completions", {{"messages", {kQuestion}}});
  EXPECT_EQ(error_of(r, 429)["code"], "queue_full");
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
}

TEST_F(ServerTest, StopEndsRunningStreamsWithAFinishReason) {
  attach();
  // A request that runs until the context is full, stopped while it runs.
  std::thread client([&] {
    const auto r = post("/v1/completions", {{"prompt", "Compute 1 + 1\n"}, {"temperature", 1.5}, {"stream", true},
                                            {"seed", 3}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->body.find("\"finish_reason\":"), std::string::npos);
    EXPECT_NE(r->body.find("data: [DONE]"), std::string::npos);
  });
  // Stop once the request runs (a stop before it arrives would answer 503).
  for (int i = 0; i < 2000 && engine_->stats().running == 0 && engine_->stats().decode_steps == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->stop();
  client.join();
}

}  // namespace
}  // namespace frugal::serve
