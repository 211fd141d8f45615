#pragma once
// `frugal serve`'s HTTP side (cpp-httplib): the OpenAI- and DeepSeek-style
// endpoints over the engine, with API-key checks, limits, errors in
// OpenAI's shape, server-sent events, one access-log line per request and
// Prometheus metrics. The server listens while the model loads (GET /health
// answers 503 until attach()).
//
//   POST /v1/chat/completions   POST /v1/completions   GET /v1/models
//   GET /health   GET /metrics   POST /tokenize   POST /detokenize
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "frugal/serve/api_request.h"
#include "frugal/serve/engine.h"
#include "frugal/serve/metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace frugal::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port
  std::string api_key;  // empty: no key needed
  std::size_t max_body_bytes = 8u << 20;
  bool json_log = false;
  int http_threads = 64;  // connections served at once (streams hold one each)
};

class HttpServer {
 public:
  explicit HttpServer(ServerOptions options);
  ~HttpServer();

  // Binds the listening socket; returns the port (fails naming host:port).
  int bind();
  // Serves until stop(); blocks.
  void listen();
  // The model is loaded: the API starts answering.
  void attach(Engine& engine, ServedModel served);
  // New requests get 503, running sequences end with finish_reason "abort",
  // their responses go out, then the server closes.
  void stop();

 private:
  struct Completion;
  struct TokenCounts {
    int64_t prompt = 0, completion = 0;
  };
  void route();
  bool authorised(const httplib::Request& req, httplib::Response& res) const;
  void handle_completion(const httplib::Request& req, httplib::Response& res, bool chat, TokenCounts& tokens);
  void stream_completion(std::shared_ptr<Completion> job, httplib::Response& res);
  void respond_error(httplib::Response& res, int status, const std::string& message, const std::string& param = "",
                     const std::string& code = "") const;
  void log_access(const httplib::Request& req, int status, int64_t prompt_tokens, int64_t completion_tokens,
                  double seconds) const;
  void record_finished(Completion& job);

  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<Engine*> engine_{nullptr};
  ServedModel served_;
  Metrics metrics_;
  std::atomic<bool> draining_{false};
  std::atomic<int> active_{0};
  mutable std::mutex log_mutex_;
};

}  // namespace frugal::serve
