// frugal bench --model DIR [--weights auto|bf16|fp8|q8|q4] [--kv-cache f32|bf16|q8] [--prompt 512]
//              [--gen 128] [--depth 0,4096,16384] [--repeats N] [--warmup N] [--threads N] [--json]
// Measures, in one run: at each context depth prefill tokens/s, decode
// tokens/s, the machine's read bandwidth after every run, the decode floor
// (bytes read per token over the median bandwidth) and the share of it
// reached, and peak RSS. With --repeats N, each figure is the median of N runs
// (the repeats take the depths in turn).
// First, --warmup runs (default 1, untimed) prefill the prompt and decode a
// few tokens, so that the timed runs see a process in its steady state
// (per-thread buffers grown, code and pages touched), as a server's would.
//
// JSON fields (numbers): bandwidth_bytes_per_s, weight_bytes_per_token,
// prompt_tokens, gen_tokens, repeats, warmup_runs, threads, peak_rss_bytes, and per depth: depth,
// prefill_tokens_per_s, decode_tokens_per_s, kv_bytes_read_per_token,
// decode_floor_tokens_per_s, decode_percent_of_floor. The top level repeats
// the first depth's fields; `depths` lists all of them.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "frugal/core/cpu_features.h"
#include "frugal/core/error.h"
#include "frugal/core/memory_bandwidth.h"
#include "frugal/core/peak_memory.h"
#include "frugal/core/thread_pool.h"
#include "frugal/generate/session.h"
#include "frugal/model/model_stats.h"
#include "int_list.h"
#include "kv_cache_flag.h"

namespace frugal::cli {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string model;
  std::string weights = "auto";
  std::string kv_cache = "auto";
  int64_t prompt = 512;
  int64_t gen = 128;
  std::string depths = "0";
  int repeats = 1;
  int warmup = 1;
  int threads = 0;
  bool json = false;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

constexpr int kWarmupDecodeTokens = 4;

// Feeds back the most likely token `count` times, from the logits of the
// last token fed.
void decode_greedily(Session& session, std::span<const float> logits, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const auto next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    logits = session.feed(std::span(&next, 1));
  }
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

int run_bench(const BenchOptions& o) {
  if (o.threads > 0) ThreadPool::set_global_threads(o.threads);
  if (o.prompt < 1 || o.gen < 1) fail("--prompt and --gen must be at least 1");
  const std::vector<int64_t> depths = parse_int_list(o.depths, "--depth", INT32_MAX);
  // "auto" resolves for the run's longest context, so every depth uses one cache.
  const int64_t longest_context = *std::max_element(depths.begin(), depths.end()) + o.prompt + o.gen;
  const DType kv_dtype = parse_kv_cache_dtype(o.kv_cache, longest_context);
  const auto load_start = Clock::now();
  const Model model(o.model, parse_weight_format(o.weights));
  std::fprintf(stderr, "loaded with %s weights in %.1f s\n", to_string(model.weight_format()).c_str(),
               seconds_since(load_start));
  const Config& c = model.config();
  const ModelStats stats = compute_model_stats(model.checkpoint(), c, model.weight_format());
  const int threads = ThreadPool::global().num_threads();
  std::fprintf(stderr, "model %s: %s, %.2fB parameters, %.2fB active, %.0f MB of weights read per token\n",
               o.model.c_str(), c.family_name().c_str(), stats.total_parameters / 1e9, stats.active_parameters / 1e9,
               stats.weight_bytes_per_token / 1e6);
  std::fprintf(stderr, "%d thread(s), cpu: %s\n", threads, describe_cpu().c_str());
  // Steady state: a running server has every weight page mapped; a first
  // touch costs a page fault that the timing should not include. Converted
  // weights live in memory already (their stored pages were released).
  if (model.weight_format() == WeightFormat::Stored) {
    const auto map_start = Clock::now();
    const std::size_t mapped = model.checkpoint().prefault();
    std::fprintf(stderr, "mapped %.2f GB of weights in %.1f s\n", mapped / 1e9, seconds_since(map_start));
  }

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> token(0, c.vocab_size - 1);
  std::vector<int32_t> prompt(static_cast<std::size_t>(o.prompt));
  for (int32_t& t : prompt) t = token(rng);

  for (int64_t depth : depths) {
    const int64_t context = depth + o.prompt + o.gen;
    if (context > c.max_position_embeddings)
      fail("depth ", depth, " + prompt + gen = ", context, " tokens exceeds max_position_embeddings (",
           c.max_position_embeddings, ")");
  }
  // Untimed runs at depth 0 (a process's first prefill is ~25% slower).
  const int64_t warmup_decode = std::min<int64_t>(kWarmupDecodeTokens, o.gen);
  for (int run = 0; run < o.warmup; ++run) {
    std::fprintf(stderr, "warming up (prefill %lld tokens, decode %lld)...\n", static_cast<long long>(o.prompt),
                 static_cast<long long>(warmup_decode));
    Session session(model, o.prompt + warmup_decode, kv_dtype);
    decode_greedily(session, session.feed(prompt), warmup_decode);
  }

  struct Timing {
    int64_t depth;
    double prefill_seconds, decode_seconds;
  };
  std::vector<Timing> timings;
  // The machine's bandwidth drifts (a shared VM's by 1.5x within seconds):
  // it is measured after every run and the median taken. The peak RSS
  // leaves the measurement's buffer out when the peak can be restarted.
  std::vector<double> bandwidths;
  int64_t peak_rss = peak_rss_bytes();  // loading's
  BandwidthMeasurement bandwidth;
  const bool measure_between_runs = reset_peak_rss();
  auto measure_bandwidth = [&] {
    peak_rss = std::max(peak_rss, peak_rss_bytes());
    std::fprintf(stderr, "measuring read bandwidth...");
    bandwidth = measure_read_bandwidth();
    bandwidths.push_back(bandwidth.bytes_per_second);
    std::fprintf(stderr, " %.1f GB/s\n", bandwidth.bytes_per_second / 1e9);
    reset_peak_rss();
  };
  // Each run starts a fresh session, and the repeats take the depths in
  // turn (0, 16K, 0, 16K, ...): the medians damp a machine whose speed
  // drifts from second to second, and a drift over minutes falls on every
  // depth alike rather than on whichever ran last.
  std::vector<std::vector<double>> prefill_runs(depths.size()), decode_runs(depths.size());
  for (int repeat = 0; repeat < o.repeats; ++repeat) {
    for (std::size_t k = 0; k < depths.size(); ++k) {
      const int64_t depth = depths[k];
      Session session(model, depth + o.prompt + o.gen, kv_dtype);
      session.fill_synthetic(depth, static_cast<uint64_t>(depth) + 1);
      std::fprintf(stderr, "depth %lld: prefill %lld tokens...", static_cast<long long>(depth),
                   static_cast<long long>(o.prompt));
      const auto prefill_start = Clock::now();
      std::span<const float> logits = session.feed(prompt);
      prefill_runs[k].push_back(seconds_since(prefill_start));
      std::fprintf(stderr, " %.1f tokens/s; decode %lld tokens...", o.prompt / prefill_runs[k].back(),
                   static_cast<long long>(o.gen));
      const auto decode_start = Clock::now();
      decode_greedily(session, logits, o.gen);
      decode_runs[k].push_back(seconds_since(decode_start));
      std::fprintf(stderr, " %.2f tokens/s\n", o.gen / decode_runs[k].back());
      if (measure_between_runs) measure_bandwidth();
    }
  }
  for (std::size_t k = 0; k < depths.size(); ++k)
    timings.push_back({depths[k], median(prefill_runs[k]), median(decode_runs[k])});
  if (!measure_between_runs) measure_bandwidth();  // once, after every run: the peak RSS is the runs'
  bandwidth.bytes_per_second = median(bandwidths);

  json results = json::array();
  for (const Timing& t : timings) {
    const int64_t depth = t.depth;
    const double prefill_seconds = t.prefill_seconds;
    const double decode_tps = o.gen / t.decode_seconds;
    // Each decoded token reads the active weights and the whole latent cache.
    const double kv_bytes = static_cast<double>(c.num_hidden_layers) *
                            static_cast<double>(kv_bytes_per_position(c.kv_lora_rank, c.qk_rope_head_dim, kv_dtype)) *
                            (depth + o.prompt + o.gen / 2.0);
    const double floor_tps = bandwidth.bytes_per_second / (static_cast<double>(stats.weight_bytes_per_token) + kv_bytes);
    results.push_back({{"depth", depth},
                       {"prefill_tokens_per_s", o.prompt / prefill_seconds},
                       {"decode_tokens_per_s", decode_tps},
                       {"kv_bytes_read_per_token", kv_bytes},
                       {"decode_floor_tokens_per_s", floor_tps},
                       {"decode_percent_of_floor", 100.0 * decode_tps / floor_tps}});
  }

  json out = {{"model", o.model},
              {"weights", o.weights},
              {"kv_cache", kv_cache_dtype_name(kv_dtype)},
              {"cpu", describe_cpu()},
              {"threads", threads},
              {"bandwidth_bytes_per_s", bandwidth.bytes_per_second},
              {"weight_bytes_per_token", stats.weight_bytes_per_token},
              {"parameters_active_per_token", stats.active_parameters},
              {"prompt_tokens", o.prompt},
              {"gen_tokens", o.gen},
              {"repeats", o.repeats},
              {"warmup_runs", o.warmup},
              {"peak_rss_bytes", peak_rss},
              {"depths", results}};
  for (const auto& [key, value] : results.front().items()) out[key] = value;
  if (o.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-8s %14s %14s %14s %9s\n", "depth", "prefill t/s", "decode t/s", "floor t/s", "of floor");
  for (const json& r : results)
    std::printf("%-8lld %14.1f %14.2f %14.1f %8.0f%%\n", static_cast<long long>(r["depth"].get<int64_t>()),
                r["prefill_tokens_per_s"].get<double>(), r["decode_tokens_per_s"].get<double>(),
                r["decode_floor_tokens_per_s"].get<double>(), r["decode_percent_of_floor"].get<double>());
  std::printf("bandwidth %.1f GB/s (median of %zu measurements, each the best of %d passes over %.1f GiB), "
              "%.0f MB weights/token, %s KV cache, peak RSS %.2f GB, %d threads, cpu %s\n",
              bandwidth.bytes_per_second / 1e9, bandwidths.size(), bandwidth.passes,
              bandwidth.buffer_bytes / double(1 << 30),
              stats.weight_bytes_per_token / 1e6, kv_cache_dtype_name(kv_dtype).c_str(), peak_rss / 1e9, threads, describe_cpu().c_str());
  return 0;
}

}  // namespace

Runner add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* command = app.add_subcommand("bench", "Measure prefill and decode speed against the bandwidth floor");
  command->add_option("--model", o->model, "Hugging Face checkpoint folder")->required();
  command->add_option("--weights", o->weights, "Weight format (auto: as stored)")->check(CLI::IsMember(weight_format_names()));
  add_kv_cache_option(*command, o->kv_cache);
  command->add_option("--prompt", o->prompt, "Prompt tokens to prefill")->capture_default_str();
  command->add_option("--gen", o->gen, "Tokens to decode")->capture_default_str();
  command->add_option("--depth", o->depths, "Context depths, comma-separated")->capture_default_str();
  command->add_option("--repeats", o->repeats, "Runs per depth; the medians are reported")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command->add_option("--warmup", o->warmup, "Untimed runs (prefill and a few decoded tokens) before measuring")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  command->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 1024));
  command->add_flag("--json", o->json, "Print one JSON object");
  return [o] { return run_bench(*o); };
}

}  // namespace frugal::cli
