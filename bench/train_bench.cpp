// Training throughput: tokens per second of one full step (forward, backward,
// clipping, AdamW, bias update) on a random model of a given config.
//   train_bench CONFIG.json [--batch 8] [--seq 256] [--steps 10] [--threads N]
// CONFIG.json is a Hugging Face config (e.g. shared/bench/train_bench_config.json).
// Prints the median step time, tokens/s and achieved GFLOP/s (6 x active
// parameters per token for the matrix products, plus attention).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/core/cpu_features.h"
#include "frugal/core/thread_pool.h"
#include "frugal/io/checkpoint.h"
#include "frugal/model/init.h"
#include "frugal/train/adamw.h"
#include "frugal/train/gemm.h"
#include "frugal/train/routing_bias.h"
#include "frugal/train/trainable_model.h"

using namespace frugal;

int main(int argc, char** argv) {
  configure_blas_at_startup(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: train_bench CONFIG.json [--batch B] [--seq T] [--steps N] [--threads N]\n");
    return 2;
  }
  int batch = 8, steps = 10, threads = 0;
  int64_t seq = 256;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long value = std::atol(argv[i + 1]);
    if (flag == "--batch") batch = static_cast<int>(value);
    else if (flag == "--seq") seq = value;
    else if (flag == "--steps") steps = static_cast<int>(value);
    else if (flag == "--threads") threads = static_cast<int>(value);
  }
  if (threads > 0) ThreadPool::set_global_threads(threads);

  try {
    const nlohmann::json config_json = nlohmann::json::parse(read_text_file(argv[1]));
    const std::string dir = (std::filesystem::temp_directory_path() / "frugal-train-bench").string();
    InitOptions init;
    init.dtype = DType::F32;
    write_random_checkpoint(config_json, dir, init);
    ParameterStore store = ParameterStore::load(dir);
    TrainableModel model(store);
    AdamW optimizer(store, AdamWOptions{});
    const Config& c = store.config();

    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> token(0, c.vocab_size - 1);
    std::vector<std::vector<int32_t>> sequences(static_cast<std::size_t>(batch), std::vector<int32_t>(seq));
    std::vector<double> seconds;
    for (int s = 0; s < steps + 1; ++s) {  // the first step warms caches and is not counted
      for (auto& sequence : sequences)
        for (int32_t& t : sequence) t = token(rng);
      const auto begin = std::chrono::steady_clock::now();
      store.zero_grad();
      const StepLosses losses = model.forward_backward(sequences, LossOptions{});
      clip_gradient_norm(store, 1.0);
      optimizer.step(1e-3);
      update_routing_bias(store, losses.expert_loads, 0.001);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      if (s > 0) seconds.push_back(elapsed);
      std::fprintf(stderr, "\rstep %d/%d: %.3f s", s, steps, elapsed);
    }
    std::fputc('\n', stderr);
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds[seconds.size() / 2];
    const double tokens = static_cast<double>(batch) * static_cast<double>(seq);

    // FLOPs per token: 6 x (active matrix parameters) for forward + backward,
    // plus causal attention (QK^T and PV, forward and backward ~ 6 x T/2 x H x (dqk + dv)).
    const double D = c.hidden_size, H = c.num_attention_heads, dqk = c.qk_head_dim(), dv = c.v_head_dim;
    const double attn_proj = (c.q_lora_rank > 0 ? c.q_lora_rank * (D + H * dqk) : D * H * dqk) +
                             D * (c.kv_lora_rank + c.qk_rope_head_dim) + c.kv_lora_rank * H * (c.qk_nope_head_dim + dv) +
                             H * dv * D;
    const double moe_ffn = 3.0 * D * c.moe_intermediate_size * (c.num_experts_per_tok + c.n_shared_experts) +
                           D * c.n_routed_experts;
    const double dense_ffn = 3.0 * D * c.intermediate_size;
    const int dense = c.first_k_dense_replace, moe = c.num_hidden_layers - dense;
    double matrix_params = dense * (attn_proj + dense_ffn) + moe * (attn_proj + moe_ffn) + D * c.vocab_size;
    double attention_flops = (c.num_hidden_layers) * 6.0 * (seq / 2.0) * H * (dqk + dv);
    if (c.num_nextn_predict_layers > 0) {
      matrix_params += attn_proj + moe_ffn + 2 * D * D + D * c.vocab_size;
      attention_flops += 6.0 * (seq / 2.0) * H * (dqk + dv);
    }
    const double flops_per_token = 6.0 * matrix_params + attention_flops;
    std::printf("%s, %d threads, batch %d x %lld tokens\n", describe_cpu().c_str(), ThreadPool::global().num_threads(),
                batch, static_cast<long long>(seq));
    std::printf("median step %.3f s (min %.3f, max %.3f) over %d steps\n", median, seconds.front(), seconds.back(),
                steps);
    std::printf("%.0f tokens/s, %.1f MFLOP/token, %.1f GFLOP/s\n", tokens / median, flops_per_token / 1e6,
                tokens / median * flops_per_token / 1e9);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
