#include "frugal/serve/http_server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "frugal/serve/api_error.h"
#include "frugal/serve/api_response.h"
#include "frugal/serve/choice.h"
#include "frugal/serve/connection_watch.h"

namespace frugal::serve {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(50);

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Equal strings in time that depends on the expected key's length only.
bool constant_time_equal(const std::string& provided, const std::string& expected) {
  unsigned char difference = provided.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    difference |= static_cast<unsigned char>(expected[i] ^ (i < provided.size() ? provided[i] : 0));
  return difference == 0;
}

std::string sse(const json& data) { return "data: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n"; }

std::string endpoint_name(const std::string& path) {
  static const char* known[] = {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health",
                                "/metrics",             "/tokenize",       "/detokenize"};
  for (const char* k : known)
    if (path == k) return k;
  return "other";
}

}  // namespace

// One completion request: its choices' sequences and what has come of them.
struct HttpServer::Completion {
  ApiRequest request;
  ResponseHeader header;
  std::vector<std::shared_ptr<SequenceStream>> streams;
  std::vector<Choice> choices;
  std::vector<std::optional<Clock::time_point>> last_token;  // per choice, for inter-token latency
  std::unique_ptr<ConnectionWatch> watch;
  Clock::time_point started = Clock::now();
  bool role_sent = false;
  bool recorded = false;
  int status = 200;
  const httplib::Request* request_for_log = nullptr;
  std::string log_remote, log_method, log_path;

  void cancel() {
    for (auto& s : streams) s->cancel();
  }
  bool ended() const {
    for (const Choice& c : choices)
      if (!c.ended()) return false;
    return true;
  }
  // Waits for events (up to one poll interval) and applies them; streamed
  // deltas go to `deltas` (choice index, delta) when given.
  void poll(std::vector<std::pair<int, ChoiceDelta>>* deltas, Metrics& metrics) {
    std::vector<SequenceEvent> events;
    const auto each = kPollInterval / std::max<std::size_t>(1, streams.size());
    for (std::size_t i = 0; i < streams.size(); ++i) {
      if (choices[i].ended()) continue;
      events.clear();
      streams[i]->wait(events, std::chrono::duration_cast<std::chrono::milliseconds>(each));
      std::vector<ChoiceDelta> choice_deltas;
      for (SequenceEvent& e : events) {
        if (e.kind == SequenceEvent::Kind::Token) {
          if (last_token[i]) metrics.observe_inter_token_latency(std::chrono::duration<double>(e.emitted - *last_token[i]).count());
          last_token[i] = e.emitted;
        }
        choices[i].apply(e, deltas != nullptr ? &choice_deltas : nullptr);
      }
      if (deltas != nullptr)
        for (ChoiceDelta& d : choice_deltas) deltas->emplace_back(static_cast<int>(i), std::move(d));
    }
  }
};

HttpServer::HttpServer(ServerOptions options) : options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  const int threads = std::max(options_.http_threads, 4);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_read_timeout(30, 0);
  http_->set_write_timeout(30, 0);
  route();
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
    if (port < 0) fail("cannot listen on ", options_.host, " (any port)");
  } else if (!http_->bind_to_port(options_.host, port)) {
    fail("cannot listen on ", options_.host, ":", port, " (in use, or the address is not this machine's)");
  }
  return port;
}

void HttpServer::listen() { http_->listen_after_bind(); }

void HttpServer::attach(Engine& engine, ServedModel served) {
  served_ = std::move(served);
  engine_.store(&engine);
}

void HttpServer::stop() {
  draining_.store(true);
  if (Engine* engine = engine_.load()) engine->shutdown();
  // Let the ended sequences' responses go out before the sockets close.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (active_.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  http_->stop();
}

void HttpServer::respond_error(httplib::Response& res, int status, const std::string& message, const std::string& param,
                               const std::string& code) const {
  res.status = status;
  res.set_content(ApiError(status, message, param, code).to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void HttpServer::log_access(const httplib::Request& req, int status, int64_t prompt_tokens, int64_t completion_tokens,
                            double seconds) const {
  std::lock_guard lock(log_mutex_);
  if (options_.json_log) {
    const json line = {{"time", std::time(nullptr)}, {"remote", req.remote_addr},  {"method", req.method},
                       {"path", req.path},            {"status", status},          {"prompt_tokens", prompt_tokens},
                       {"completion_tokens", completion_tokens}, {"seconds", seconds}};
    std::fprintf(stderr, "%s\n", line.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    std::fprintf(stderr, "%s \"%s %s\" %d prompt=%lld completion=%lld %.3fs\n", req.remote_addr.c_str(),
                 req.method.c_str(), req.path.c_str(), status, static_cast<long long>(prompt_tokens),
                 static_cast<long long>(completion_tokens), seconds);
  }
}

bool HttpServer::authorised(const httplib::Request& req, httplib::Response& res) const {
  if (options_.api_key.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  const std::string provided = header.rfind(prefix, 0) == 0 ? header.substr(prefix.size()) : "";
  if (constant_time_equal(provided, options_.api_key)) return true;
  respond_error(res, 401, header.empty() ? "missing API key: send 'Authorization: Bearer KEY'" : "incorrect API key",
                "", "invalid_api_key");
  return false;
}

void HttpServer::route() {
  using Handler = std::function<void(const httplib::Request&, httplib::Response&, TokenCounts&)>;
  // Every answer is counted and logged; streams log themselves when done.
  auto simple = [this](Handler handler, bool needs_key, bool needs_model) {
    return [this, handler, needs_key, needs_model](const httplib::Request& req, httplib::Response& res) {
      const auto start = Clock::now();
      TokenCounts tokens;
      ++active_;
      try {
        if (needs_key && !authorised(req, res)) {
        } else if (needs_model && (engine_.load() == nullptr || draining_.load())) {
          respond_error(res, 503, draining_.load() ? "the server is shutting down" : "the model is loading");
        } else {
          handler(req, res, tokens);
        }
      } catch (const ApiError& e) {
        respond_error(res, e.status, e.what(), e.param, e.code);
      } catch (const std::exception& e) {
        respond_error(res, 500, e.what());
      }
      if (!res.is_chunked_content_provider_) {
        if (res.status == -1) res.status = 200;
        metrics_.count_request(endpoint_name(req.path), res.status);
        log_access(req, res.status, tokens.prompt, tokens.completion, seconds_since(start));
      }
      --active_;
    };
  };

  http_->Get("/health", simple([this](const httplib::Request&, httplib::Response& res, TokenCounts&) {
    const bool ready = engine_.load() != nullptr && !draining_.load();
    res.status = ready ? 200 : 503;
    res.set_content(json{{"status", ready ? "ok" : (draining_.load() ? "shutting down" : "loading")}}.dump(),
                    "application/json");
  }, false, false));
  http_->Get("/metrics", simple([this](const httplib::Request&, httplib::Response& res, TokenCounts&) {
    Engine* engine = engine_.load();
    res.set_content(metrics_.render(engine != nullptr ? engine->stats() : EngineStats{}), "text/plain; version=0.0.4");
  }, true, false));
  http_->Get("/v1/models", simple([this](const httplib::Request&, httplib::Response& res, TokenCounts&) {
    const json model = {{"id", served_.name}, {"object", "model"}, {"created", 0}, {"owned_by", "frugal"},
                        {"context_length", served_.context}};
    res.set_content(json{{"object", "list"}, {"data", json::array({model})}}.dump(), "application/json");
  }, true, true));
  http_->Post("/tokenize", simple([this](const httplib::Request& req, httplib::Response& res, TokenCounts&) {
    const json body = parse_body(req.body);
    if (!body.contains("content") || !body["content"].is_string())
      throw ApiError(400, "'content' must be a string", "content");
    const bool add_special = body.contains("add_special") && body["add_special"].is_boolean() && body["add_special"].get<bool>();
    const Tokenizer& t = *served_.tokenizer;
    std::vector<int32_t> ids = t.encode(body["content"].get<std::string>());
    if (add_special && t.add_bos_token() && t.bos_id()) ids.insert(ids.begin(), *t.bos_id());
    res.set_content(json{{"tokens", ids}}.dump(), "application/json");
  }, true, true));
  http_->Post("/detokenize", simple([this](const httplib::Request& req, httplib::Response& res, TokenCounts&) {
    const json body = parse_body(req.body);
    if (!body.contains("tokens") || !body["tokens"].is_array()) throw ApiError(400, "'tokens' must be a list of token ids", "tokens");
    std::vector<int32_t> ids;
    for (const json& id : body["tokens"]) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= served_.tokenizer->vocab_size())
        throw ApiError(400, "'tokens' must hold token ids in [0, " + std::to_string(served_.tokenizer->vocab_size()) + ")",
                       "tokens");
      ids.push_back(id.get<int32_t>());
    }
    res.set_content(json{{"content", served_.tokenizer->decode(ids)}}.dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json");
  }, true, true));
  http_->Post("/v1/chat/completions", simple([this](const httplib::Request& req, httplib::Response& res, TokenCounts& tokens) {
    handle_completion(req, res, true, tokens);
  }, true, true));
  http_->Post("/v1/completions", simple([this](const httplib::Request& req, httplib::Response& res, TokenCounts& tokens) {
    handle_completion(req, res, false, tokens);
  }, true, true));

  // A known path with the wrong method: 405 naming the right one.
  const std::vector<std::pair<std::string, std::string>> known = {
      {"/health", "GET"},    {"/metrics", "GET"},    {"/v1/models", "GET"},          {"/tokenize", "POST"},
      {"/detokenize", "POST"}, {"/v1/chat/completions", "POST"}, {"/v1/completions", "POST"}};
  for (const auto& [path, method] : known) {
    auto not_allowed = simple([this, method = method](const httplib::Request& req, httplib::Response& res, TokenCounts&) {
      res.set_header("Allow", method);
      respond_error(res, 405, req.method + " is not allowed here; use " + method);
    }, false, false);
    if (method == "GET") http_->Post(path, not_allowed);
    else http_->Get(path, not_allowed);
    http_->Put(path, not_allowed);
    http_->Patch(path, not_allowed);
    http_->Delete(path, not_allowed);
  }
  // Errors httplib answers itself (unknown path, body too large, bad
  // request line) in the same shape.
  http_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.is_chunked_content_provider_) return;
    std::string message = "no such endpoint: " + req.method + " " + req.path;
    if (res.status == 413) message = "the request body is larger than the limit of " + std::to_string(options_.max_body_bytes) + " bytes (--max-body)";
    else if (res.status != 404) message = "bad request";
    respond_error(res, res.status, message);
    metrics_.count_request(endpoint_name(req.path), res.status);
    log_access(req, res.status, 0, 0, 0.0);
  });
}

void HttpServer::record_finished(Completion& job) {
  if (job.recorded) return;
  job.recorded = true;
  int64_t generated = 0;
  for (const Choice& c : job.choices) {
    generated += c.usage().completion_tokens;
    if (c.usage().completion_tokens > 0) metrics_.observe_time_to_first_token(c.usage().time_to_first_token);
  }
  const SequenceUsage& first = job.choices.front().usage();
  metrics_.add_tokens(first.prompt_tokens, generated, first.cached_prompt_tokens);
}

void HttpServer::handle_completion(const httplib::Request& req, httplib::Response& res, bool chat, TokenCounts& tokens) {
  auto job = std::make_shared<Completion>();
  const json body = parse_body(req.body);
  job->request = chat ? parse_chat_request(body, served_) : parse_completion_request(body, served_);
  job->header = new_response_header(chat, served_.name);
  Engine& engine = *engine_.load();
  const ApiRequest& r = job->request;
  try {
    for (int i = 0; i < r.n; ++i) {
      SequenceRequest s;
      s.prompt = r.prompt;
      s.sampling = r.sampling;
      s.sampling.seed = r.sampling.seed + static_cast<uint64_t>(i);
      s.max_new_tokens = r.max_tokens;
      s.stop_tokens = served_.stop_tokens;
      s.stop_strings = r.stop;
      s.top_logprobs = r.top_logprobs;
      job->streams.push_back(engine.submit(std::move(s)));
      job->choices.emplace_back(i, r);
      job->last_token.emplace_back();
    }
  } catch (const QueueFull& e) {
    job->cancel();
    res.set_header("Retry-After", "1");
    throw ApiError(429, e.what(), "", "queue_full");
  } catch (const ApiError&) {
    job->cancel();
    throw;
  } catch (const Error& e) {
    job->cancel();
    throw ApiError(draining_.load() ? 503 : 400, e.what());
  }
  job->watch = std::make_unique<ConnectionWatch>(req.remote_addr, req.remote_port, req.local_port);
  job->log_remote = req.remote_addr;
  job->log_method = req.method;
  job->log_path = req.path;
  if (r.stream) {
    stream_completion(job, res);
    return;
  }
  while (!job->ended()) {
    job->poll(nullptr, metrics_);
    if (!job->ended() && !job->watch->connected()) {  // the client left: free its sequences now
      job->cancel();
      res.status = 499;  // nginx's "client closed request", for the log; nobody reads the body
      return;
    }
  }
  record_finished(*job);
  tokens.prompt = job->choices.front().usage().prompt_tokens;
  for (const Choice& c : job->choices) tokens.completion += c.usage().completion_tokens;
  for (const Choice& c : job->choices)
    if (c.failed()) throw ApiError(500, "generation failed: " + c.error());
  const Tokenizer& t = *served_.tokenizer;
  const json out = chat ? chat_completion_json(job->header, job->choices, r, t) : text_completion_json(job->header, job->choices, r, t);
  res.set_content(out.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void HttpServer::stream_completion(std::shared_ptr<Completion> job, httplib::Response& res) {
  ++active_;  // until the stream's last byte (the releaser)
  const bool chat = job->request.chat;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, job, chat](std::size_t, httplib::DataSink& sink) -> bool {
        const Tokenizer& t = *served_.tokenizer;
        std::string out;
        if (!job->role_sent) {
          job->role_sent = true;
          if (chat)
            for (const Choice& c : job->choices)
              out += sse(chat_chunk_json(job->header, c.index(), {{"role", "assistant"}, {"content", ""}}, nullptr, t));
        }
        std::vector<bool> ended_before;
        for (const Choice& c : job->choices) ended_before.push_back(c.ended());
        std::vector<std::pair<int, ChoiceDelta>> deltas;
        job->poll(&deltas, metrics_);
        const bool with_logprobs = job->request.top_logprobs >= 0;
        for (auto& [index, d] : deltas) {
          const std::vector<TokenLogprob>* lp = with_logprobs ? &d.logprobs : nullptr;
          if (chat && !d.tool_calls.empty()) {
            const json calls = tool_calls_json(job->header, index, d.tool_calls, d.first_call_index, true);
            out += sse(chat_chunk_json(job->header, index, {{"tool_calls", calls}}, lp, t));
          } else if (chat) {
            const char* key = d.part == ReplyPart::Reasoning ? "reasoning_content" : "content";
            out += sse(chat_chunk_json(job->header, index, {{key, d.text}}, lp, t));
          } else {
            out += sse(text_chunk_json(job->header, index, d.text, lp, t));
          }
        }
        for (std::size_t i = 0; i < job->choices.size(); ++i) {
          const Choice& c = job->choices[i];
          if (ended_before[i] || !c.ended()) continue;
          if (c.failed()) {
            out += sse(ApiError(500, "generation failed: " + c.error()).to_json());
          } else if (chat) {
            out += sse(chat_chunk_json(job->header, c.index(), json::object(), nullptr, t, c.finish_reason()));
          } else {
            out += sse(text_chunk_json(job->header, c.index(), "", nullptr, t, c.finish_reason()));
          }
        }
        const bool done = job->ended();
        if (done) {
          record_finished(*job);
          if (job->request.include_usage) out += sse(usage_chunk_json(job->header, chat, job->choices));
          out += "data: [DONE]\n\n";
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) {
          job->cancel();
          return false;
        }
        if (done) {
          sink.done();
          return true;
        }
        if (!job->watch->connected()) {
          job->cancel();
          job->status = 499;
          return false;
        }
        return true;
      },
      [this, job](bool success) {
        job->cancel();  // a no-op for ended sequences
        if (!success && job->status == 200) job->status = 499;
        int64_t prompt = job->choices.front().usage().prompt_tokens, generated = 0;
        for (const Choice& c : job->choices) generated += c.usage().completion_tokens;
        metrics_.count_request(endpoint_name(job->log_path), job->status);
        httplib::Request r;
        r.remote_addr = job->log_remote;
        r.method = job->log_method;
        r.path = job->log_path;
        log_access(r, job->status, prompt, generated, seconds_since(job->started));
        --active_;
      });
}

}  // namespace frugal::serve
