// frugal bench-serve --model DIR [--weights ...] [--kv-cache ...] [--concurrency 1,4,16,64]
//                    [--prompt 256] [--gen 128] [--prefill-chunk 512] [--threads N] [--json]
// Continuous batching measured in-process, as `frugal serve` runs it (the
// engine, without HTTP): at each concurrency, that many requests of
// --prompt random tokens each generate --gen tokens (sampled, no end token),
// all submitted at once. Reported per concurrency: aggregate generated
// tokens/s, time to first token and inter-token latency (p50, p99), and the
// decode steps beside their floor: the bytes one step reads (non-expert
// weights once, the expected union of the experts its tokens select, every
// sequence's latent cache) over the read bandwidth measured in the same run.
//
// JSON fields (a stable interface): model, weights, kv_cache, threads,
// prompt_tokens, gen_tokens, bandwidth_bytes_per_s, and `runs`, one per
// concurrency: concurrency, generated_tokens_per_s, ttft_p50_s, ttft_p99_s,
// itl_p50_s, itl_p99_s, decode_steps, mean_decode_batch, decode_step_s,
// decode_step_bytes, decode_floor_step_s, decode_percent_of_floor,
// decode_tokens_per_s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "frugal/core/cpu_features.h"
#include "frugal/core/error.h"
#include "frugal/core/memory_bandwidth.h"
#include "frugal/core/thread_pool.h"
#include "frugal/model/model_stats.h"
#include "frugal/serve/engine.h"
#include "int_list.h"
#include "kv_cache_flag.h"

namespace frugal::cli {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct BenchServeOptions {
  std::string model;
  std::string weights = "auto";
  std::string kv_cache = "auto";
  std::string concurrency = "1,4,16,64";
  int64_t prompt = 256;
  int64_t gen = 128;
  int64_t prefill_chunk = 512;
  int threads = 0;
  bool json = false;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double rank = p * static_cast<double>(values.size() - 1);
  const auto low = static_cast<std::size_t>(rank);
  const std::size_t high = std::min(low + 1, values.size() - 1);
  return values[low] + (rank - static_cast<double>(low)) * (values[high] - values[low]);
}

struct RunFigures {
  int concurrency = 0;
  double generated_tokens_per_s = 0, ttft_p50 = 0, ttft_p99 = 0, itl_p50 = 0, itl_p99 = 0;
  uint64_t decode_steps = 0;
  double mean_batch = 0, step_seconds = 0, mean_cached_positions = 0, decode_tokens_per_s = 0;
};

// `count` requests at once; waits for all and reads the engine's decode figures.
RunFigures run_concurrency(serve::Engine& engine, int count, const BenchServeOptions& o, int32_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const serve::EngineStats before = engine.stats();
  std::vector<std::shared_ptr<serve::SequenceStream>> streams;
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    serve::SequenceRequest r;
    for (int64_t t = 0; t < o.prompt; ++t) r.prompt.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab)));
    r.sampling.temperature = 1.0f;
    r.sampling.seed = seed + static_cast<uint64_t>(i);
    r.max_new_tokens = o.gen;
    streams.push_back(engine.submit(std::move(r)));
  }
  std::vector<double> ttft, itl;
  int64_t generated = 0;
  std::vector<serve::SequenceEvent> events;
  for (auto& stream : streams) {
    std::optional<Clock::time_point> last;
    events.clear();
    while (!stream->wait(events, std::chrono::milliseconds(200))) {
    }
    for (const serve::SequenceEvent& e : events) {
      if (e.kind == serve::SequenceEvent::Kind::Failed) fail("a benchmark request failed: ", e.error);
      if (e.kind != serve::SequenceEvent::Kind::Token) {
        ttft.push_back(e.usage.time_to_first_token);
        continue;
      }
      ++generated;
      if (last) itl.push_back(std::chrono::duration<double>(e.emitted - *last).count());
      last = e.emitted;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // The engine's figures follow its step; wait for the last one.
  serve::EngineStats after = engine.stats();
  for (int i = 0; i < 200 && after.running > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    after = engine.stats();
  }
  RunFigures f;
  f.concurrency = count;
  f.generated_tokens_per_s = static_cast<double>(generated) / seconds;
  f.ttft_p50 = percentile(ttft, 0.5);
  f.ttft_p99 = percentile(ttft, 0.99);
  f.itl_p50 = percentile(itl, 0.5);
  f.itl_p99 = percentile(itl, 0.99);
  f.decode_steps = after.decode_steps - before.decode_steps;
  if (f.decode_steps > 0) {
    const auto steps = static_cast<double>(f.decode_steps);
    f.mean_batch = static_cast<double>(after.decoded_tokens - before.decoded_tokens) / steps;
    f.step_seconds = (after.decode_seconds - before.decode_seconds) / steps;
    f.mean_cached_positions = static_cast<double>(after.decoded_context - before.decoded_context) / steps;
    f.decode_tokens_per_s = f.mean_batch / f.step_seconds;
  }
  return f;
}

int run_bench_serve(const BenchServeOptions& o) {
  if (o.threads > 0) ThreadPool::set_global_threads(o.threads);
  if (o.prompt < 1 || o.gen < 1) fail("--prompt and --gen must be at least 1");
  const std::vector<int64_t> levels = parse_int_list(o.concurrency, "--concurrency", 4096);
  const int64_t context = o.prompt + o.gen;
  std::fprintf(stderr, "loading %s...\n", o.model.c_str());
  const Model model(o.model, parse_weight_format(o.weights));
  const Config& c = model.config();
  serve::EngineOptions options;
  options.context = context;
  options.kv_cache_dtype = parse_kv_cache_dtype(o.kv_cache, context);
  options.max_sequences = static_cast<int>(*std::max_element(levels.begin(), levels.end()));
  options.max_queue = options.max_sequences;
  options.prefill_chunk = o.prefill_chunk;
  serve::Engine engine(model, nullptr, options);
  const ModelStats stats = compute_model_stats(model.checkpoint(), c, model.weight_format());
  const double kv_bytes_per_position = static_cast<double>(engine.cache_bytes(context)) / static_cast<double>(context);
  const auto vocab = static_cast<int32_t>(c.vocab_size);

  // Warm-up (untimed): buffers grown and pages touched, as in a running server.
  run_concurrency(engine, 2, {o.model, o.weights, o.kv_cache, "", std::min<int64_t>(o.prompt, 32), 4}, vocab, 1);
  std::vector<RunFigures> runs;
  for (int64_t level : levels) {
    std::fprintf(stderr, "concurrency %lld...\n", static_cast<long long>(level));
    runs.push_back(run_concurrency(engine, static_cast<int>(level), o, vocab, 1000 + static_cast<uint64_t>(level)));
  }
  std::fprintf(stderr, "measuring read bandwidth...\n");
  const double bandwidth = measure_read_bandwidth().bytes_per_second;

  json out = {{"model", o.model},
              {"weights", to_string(model.weight_format())},
              {"kv_cache", kv_cache_dtype_name(options.kv_cache_dtype)},
              {"threads", ThreadPool::global().num_threads()},
              {"cpu", describe_cpu()},
              {"prompt_tokens", o.prompt},
              {"gen_tokens", o.gen},
              {"bandwidth_bytes_per_s", bandwidth},
              {"runs", json::array()}};
  if (!o.json)
    std::printf("%6s %10s %10s %10s %9s %9s %7s %9s %9s %7s\n", "conc", "gen tok/s", "ttft p50", "ttft p99", "itl p50",
                "itl p99", "batch", "step ms", "floor ms", "floor%");
  for (const RunFigures& f : runs) {
    const double bytes = decode_step_bytes(stats, c, f.mean_batch, f.mean_cached_positions, kv_bytes_per_position);
    const double floor_seconds = bytes / bandwidth;
    const double percent = f.step_seconds > 0 ? 100.0 * floor_seconds / f.step_seconds : 0.0;
    out["runs"].push_back({{"concurrency", f.concurrency},
                           {"generated_tokens_per_s", f.generated_tokens_per_s},
                           {"ttft_p50_s", f.ttft_p50},
                           {"ttft_p99_s", f.ttft_p99},
                           {"itl_p50_s", f.itl_p50},
                           {"itl_p99_s", f.itl_p99},
                           {"decode_steps", f.decode_steps},
                           {"mean_decode_batch", f.mean_batch},
                           {"decode_step_s", f.step_seconds},
                           {"decode_step_bytes", bytes},
                           {"decode_floor_step_s", floor_seconds},
                           {"decode_percent_of_floor", percent},
                           {"decode_tokens_per_s", f.decode_tokens_per_s}});
    if (!o.json)
      std::printf("%6d %10.1f %9.3fs %9.3fs %8.1fms %8.1fms %7.2f %9.2f %9.2f %6.1f%%\n", f.concurrency,
                  f.generated_tokens_per_s, f.ttft_p50, f.ttft_p99, f.itl_p50 * 1e3, f.itl_p99 * 1e3, f.mean_batch,
                  f.step_seconds * 1e3, floor_seconds * 1e3, percent);
  }
  if (o.json) {
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s, %s weights, %s latent cache, %d threads, %s; read bandwidth %.1f GB/s\n", o.model.c_str(),
                to_string(model.weight_format()).c_str(), kv_cache_dtype_name(options.kv_cache_dtype).c_str(),
                ThreadPool::global().num_threads(), describe_cpu().c_str(), bandwidth / 1e9);
  }
  return 0;
}

}  // namespace

Runner add_bench_serve_command(CLI::App& app) {
  auto o = std::make_shared<BenchServeOptions>();
  CLI::App* c = app.add_subcommand("bench-serve", "Continuous batching throughput and latency at several concurrencies");
  c->add_option("--model", o->model, "Hugging Face checkpoint folder")->required();
  c->add_option("--weights", o->weights, "Weight format in memory (auto: as stored)")
      ->check(CLI::IsMember(weight_format_names()));
  add_kv_cache_option(*c, o->kv_cache);
  c->add_option("--concurrency", o->concurrency, "Requests at once, one run each (comma-separated)")->capture_default_str();
  c->add_option("--prompt", o->prompt, "Prompt tokens per request")->capture_default_str();
  c->add_option("--gen", o->gen, "Generated tokens per request")->capture_default_str();
  c->add_option("--prefill-chunk", o->prefill_chunk, "Prompt tokens prefilled per step")->capture_default_str();
  c->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 1024));
  c->add_flag("--json", o->json, "One JSON object on stdout");
  return [o] { return run_bench_serve(*o); };
}

}  // namespace frugal::cli
