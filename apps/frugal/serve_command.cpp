// frugal serve --model DIR [--host 127.0.0.1] [--port 8000] [--weights ...]
//   [--kv-cache ...] [--threads N] [--ctx N] [--max-sequences N]
//   [--kv-budget BYTES|auto] [--prefill-chunk N] [--max-queue N]
//   [--prefix-cache BYTES] [--api-key KEY] [--served-model-name NAME]
//   [--max-body BYTES] [--log-format text|json]
// An OpenAI- and DeepSeek-compatible HTTP server with continuous batching
// (src/frugal/serve). It listens at once (GET /health answers 503 while the
// model loads), says on stderr when it is ready, and on SIGINT or SIGTERM
// stops accepting, ends running requests with finish_reason "abort" and
// exits 0. A stable interface: flags and endpoints keep their names.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/serve/http_server.h"
#include "generation_flags.h"
#include "kv_cache_flag.h"

namespace frugal::cli {
namespace {

struct ServeOptions {
  std::string model;
  std::string tokenizer;
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string weights = "auto";
  std::string kv_cache = "auto";
  int threads = 0;
  int64_t context = 4096;
  int max_sequences = 64;
  std::string kv_budget = "auto";
  int64_t prefill_chunk = 512;
  int max_queue = 128;
  std::string prefix_cache = "auto";
  std::string api_key;
  std::string served_model_name;
  std::string max_body = "8M";
  std::string chat_format = "auto";
  std::string log_format = "text";
};

// "123", "64K", "512M", "2G" (powers of 1024) -> bytes; `flag` names errors.
std::size_t parse_bytes(const std::string& text, const char* flag) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    fail(flag, ": expected a byte count such as 512M or 2G, got '", text, "'");
  }
  const std::string suffix = text.substr(used);
  double scale = 1;
  if (suffix == "K" || suffix == "KiB") scale = 1024.0;
  else if (suffix == "M" || suffix == "MiB") scale = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "GiB") scale = 1024.0 * 1024 * 1024;
  else if (!suffix.empty() && suffix != "B") fail(flag, ": unknown unit '", suffix, "' in '", text, "' (use K, M or G)");
  if (!(value >= 0)) fail(flag, ": must not be negative, got '", text, "'");
  return static_cast<std::size_t>(value * scale);
}

// MemAvailable from /proc/meminfo, in bytes (0 if unknown).
std::size_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

int run_serve(const ServeOptions& o) {
  // Signals go to one waiting thread (blocked everywhere else, so every
  // thread started from here inherits the mask); writes to a closed socket
  // fail with EPIPE instead of killing the process.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGUSR1);  // ends the signal thread when the server stops otherwise
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (o.threads > 0) ThreadPool::set_global_threads(o.threads);

  serve::ServerOptions server_options;
  server_options.host = o.host;
  server_options.port = o.port;
  server_options.api_key = o.api_key;
  if (server_options.api_key.empty())
    if (const char* key = std::getenv("FRUGAL_API_KEY")) server_options.api_key = key;
  server_options.max_body_bytes = parse_bytes(o.max_body, "--max-body");
  server_options.json_log = o.log_format == "json";
  server_options.http_threads = o.max_sequences + o.max_queue + 8;
  serve::HttpServer server(server_options);
  const int port = server.bind();
  std::thread listener([&] { server.listen(); });
  std::atomic<bool> stopping{false};
  std::thread signal_waiter([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    if (signal_number == SIGUSR1) return;
    std::fprintf(stderr, "frugal serve: %s: stopping\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    stopping.store(true);
    server.stop();
  });
  // Serves until a signal stops the server (or returns at once after a
  // failed start); then the signal thread is let go.
  const auto finish = [&](int code) {
    if (!stopping.load()) {
      stopping.store(true);
      server.stop();
    }
    listener.join();
    pthread_kill(signal_waiter.native_handle(), SIGUSR1);
    signal_waiter.join();
    return code;
  };
  std::fprintf(stderr, "frugal serve: listening on http://%s:%d (GET /health answers 503 until the model is loaded)\n",
               o.host.c_str(), port);

  std::optional<Tokenizer> tokenizer;
  std::optional<Model> model;
  std::optional<serve::Engine> engine;
  try {
    const std::string tokenizer_path = o.tokenizer.empty() ? o.model : o.tokenizer;
    tokenizer.emplace(Tokenizer::load(tokenizer_path));
    std::fprintf(stderr, "frugal serve: loading %s\n", o.model.c_str());
    model.emplace(o.model, parse_weight_format(o.weights));
    const int64_t context = std::min<int64_t>(o.context, model->config().max_position_embeddings);
    serve::EngineOptions engine_options;
    engine_options.context = context;
    engine_options.kv_cache_dtype = parse_kv_cache_dtype(o.kv_cache, context);
    engine_options.max_sequences = o.max_sequences;
    engine_options.prefill_chunk = o.prefill_chunk;
    engine_options.max_queue = o.max_queue;
    if (o.kv_budget == "auto") {
      // Every sequence at full context, within half the memory left now.
      const Config& c = model->config();
      const std::size_t full =
          static_cast<std::size_t>(o.max_sequences) *
          KvCache(c, c.num_hidden_layers, context, engine_options.kv_cache_dtype).bytes_allocated();
      const std::size_t half_free = available_memory() / 2;
      engine_options.kv_budget_bytes = half_free > 0 ? std::min(full, half_free) : full;
    } else {
      engine_options.kv_budget_bytes = parse_bytes(o.kv_budget, "--kv-budget");
      if (engine_options.kv_budget_bytes == 0) fail("--kv-budget must be more than 0 bytes");
    }
    engine_options.prefix_cache_bytes =
        o.prefix_cache == "auto" ? engine_options.kv_budget_bytes / 4 : parse_bytes(o.prefix_cache, "--prefix-cache");
    engine.emplace(*model, &*tokenizer, engine_options);

    serve::ServedModel served;
    served.name = o.served_model_name.empty() ? std::filesystem::path(o.model).lexically_normal().filename().string()
                                              : o.served_model_name;
    if (served.name.empty()) served.name = std::filesystem::path(o.model).lexically_normal().parent_path().filename().string();
    served.tokenizer = &*tokenizer;
    served.chat_format = resolve_chat_format(o.chat_format, tokenizer->chat_template());
    served.context = context;
    served.stop_tokens = model->config().eos_token_ids;
    if (tokenizer->eos_id()) served.stop_tokens.push_back(*tokenizer->eos_id());
    if (stopping.load()) return finish(0);
    server.attach(*engine, served);
    std::fprintf(stderr,
                 "frugal serve: ready on http://%s:%d/v1 - model '%s' (%s chat format), context %lld tokens, "
                 "latent cache %s, up to %d sequences in %.1f MiB, prefix cache %.1f MiB\n",
                 o.host.c_str(), port, served.name.c_str(), to_string(served.chat_format).c_str(),
                 static_cast<long long>(context), kv_cache_dtype_name(engine_options.kv_cache_dtype).c_str(),
                 o.max_sequences, engine_options.kv_budget_bytes / 1048576.0, engine_options.prefix_cache_bytes / 1048576.0);
  } catch (...) {
    finish(1);
    throw;
  }
  listener.join();
  pthread_kill(signal_waiter.native_handle(), SIGUSR1);
  signal_waiter.join();
  return 0;
}

}  // namespace

Runner add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* c = app.add_subcommand("serve", "OpenAI- and DeepSeek-compatible HTTP server with continuous batching");
  c->add_option("--model", o->model, "Hugging Face checkpoint folder")->required();
  c->add_option("--tokenizer", o->tokenizer, "tokenizer.json or its folder (default: the model folder)");
  c->add_option("--host", o->host, "Address to listen on (loopback unless told otherwise)")->capture_default_str();
  c->add_option("--port", o->port, "Port (0: any free one)")->check(CLI::Range(0, 65535))->capture_default_str();
  c->add_option("--weights", o->weights, "Weight format in memory (auto: as stored)")
      ->check(CLI::IsMember(weight_format_names()));
  add_kv_cache_option(*c, o->kv_cache);
  c->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 1024));
  c->add_option("--ctx", o->context, "Most tokens of one conversation, prompt and reply")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 30))->capture_default_str();
  c->add_option("--max-sequences", o->max_sequences, "Sequences decoded together at most")
      ->check(CLI::Range(1, 4096))->capture_default_str();
  c->add_option("--kv-budget", o->kv_budget, "Latent cache bytes for running sequences (512M, 4G; auto: every sequence "
                                             "at full context, within half the free memory)")->capture_default_str();
  c->add_option("--prefill-chunk", o->prefill_chunk, "Prompt tokens prefilled per step")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str();
  c->add_option("--max-queue", o->max_queue, "Waiting requests beyond which new ones get 429")
      ->check(CLI::Range(0, 1 << 20))->capture_default_str();
  c->add_option("--prefix-cache", o->prefix_cache, "Bytes of finished sequences' latent caches kept for reuse "
                                                   "(auto: a quarter of the cache budget; 0: off)")->capture_default_str();
  c->add_option("--api-key", o->api_key, "Require 'Authorization: Bearer KEY' (also from FRUGAL_API_KEY)");
  c->add_option("--served-model-name", o->served_model_name, "Model name in the API (default: the folder's name)");
  c->add_option("--max-body", o->max_body, "Largest request body")->capture_default_str();
  c->add_option("--chat-format", o->chat_format, "Chat convention (auto: from the tokenizer's template)")
      ->check(CLI::IsMember(chat_format_names()));
  c->add_option("--log-format", o->log_format, "Access log lines on stderr")
      ->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  return [o] { return run_serve(*o); };
}

}  // namespace frugal::cli
