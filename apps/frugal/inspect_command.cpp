// frugal inspect --model DIR [--json]: what a checkpoint is and what it costs.
#include <cstdio>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "frugal/io/checkpoint.h"
#include "frugal/model/config.h"
#include "frugal/model/kv_cache.h"
#include "frugal/model/model_stats.h"

namespace frugal::cli {
namespace {

struct InspectOptions {
  std::string model;
  bool json = false;
};

// n in steps of `base` with the matching unit: 4.59B, 1.2 KiB.
std::string human(double n, double base, const char* const (&units)[5], const char* format) {
  int u = 0;
  while (n >= base && u < 4) {
    n /= base;
    ++u;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, u == 0 ? "%.0f%s" : format, n, units[u]);
  return buffer;
}

std::string human_count(double n) {
  static const char* const units[5] = {"", "K", "M", "B", "T"};
  return human(n, 1000.0, units, "%.2f%s");
}

std::string human_bytes(double n) {
  static const char* const units[5] = {" B", " KiB", " MiB", " GiB", " TiB"};
  return human(n, 1024.0, units, "%.1f%s");
}

std::string weight_dtypes(const Checkpoint& checkpoint) {
  std::map<std::string, int> counts;
  for (const TensorView* t : checkpoint.all_tensors()) counts[std::string(dtype_name(t->dtype))]++;
  std::string out;
  for (const auto& [name, count] : counts) out += (out.empty() ? "" : ", ") + name + " x" + std::to_string(count);
  return out;
}

int run_inspect(const InspectOptions& options) {
  const Config c = load_config(options.model);
  const Checkpoint checkpoint(options.model);
  const ModelStats s = compute_model_stats(checkpoint, c);
  const int64_t L = c.num_hidden_layers;
  // frugal's cache holds float32 values; BF16 is the usual yardstick.
  const int64_t latent_f32 = s.latent_cache_values * 4, latent_bf16 = s.latent_cache_values * 2;
  const auto latent_q8 = static_cast<int64_t>(L * kv_bytes_per_position(c.kv_lora_rank, c.qk_rope_head_dim, DType::I8));
  const int64_t mha_bf16 = s.mha_cache_values * 2;

  if (options.json) {
    nlohmann::json out = {
        {"architecture", c.architecture},
        {"family", c.family_name()},
        {"vocab_size", c.vocab_size},
        {"hidden_size", c.hidden_size},
        {"num_hidden_layers", L},
        {"dense_layers", c.n_routed_experts > 0 ? c.first_k_dense_replace : L},
        {"num_attention_heads", c.num_attention_heads},
        {"q_lora_rank", c.q_lora_rank},
        {"kv_lora_rank", c.kv_lora_rank},
        {"n_routed_experts", c.n_routed_experts},
        {"num_experts_per_tok", c.num_experts_per_tok},
        {"n_shared_experts", c.n_shared_experts},
        {"mtp_modules", c.num_nextn_predict_layers},
        {"parameters_total", s.total_parameters},
        {"parameters_main", s.main_parameters},
        {"parameters_mtp", s.mtp_parameters},
        {"parameters_routed_experts", s.routed_expert_parameters},
        {"parameters_active_per_token", s.active_parameters},
        {"weight_bytes_per_token", s.weight_bytes_per_token},
        {"checkpoint_bytes", s.checkpoint_bytes},
        {"kv_cache_values_per_token", s.latent_cache_values},
        {"kv_cache_bytes_per_token", latent_f32},
        {"kv_cache_bytes_per_token_bf16", latent_bf16},
        {"kv_cache_bytes_per_token_q8", latent_q8},
        {"mha_cache_values_per_token", s.mha_cache_values},
        {"mha_cache_bytes_per_token_bf16", mha_bf16},
    };
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }

  std::printf("model          %s\n", options.model.c_str());
  std::printf("family         %s (%s)%s\n", c.family_name().c_str(), c.architecture.c_str(),
              c.weight_block_rows ? ", FP8 E4M3 block-scaled" : "");
  std::printf("stored dtypes  %s\n", weight_dtypes(checkpoint).c_str());
  std::printf("shapes         vocab %d, hidden %d, %lld layers (%d dense), %d heads\n", c.vocab_size,
              c.hidden_size, static_cast<long long>(L),
              c.n_routed_experts > 0 ? c.first_k_dense_replace : c.num_hidden_layers,
              c.num_attention_heads);
  std::printf("attention      MLA: q_lora_rank %d, kv_lora_rank %d, qk_nope %d, qk_rope %d, v %d\n",
              c.q_lora_rank, c.kv_lora_rank, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim);
  if (c.n_routed_experts > 0)
    std::printf("experts        %d routed (top %d, %s, %s, %d groups keep %d), %d shared, width %d\n",
                c.n_routed_experts, c.num_experts_per_tok, to_string(c.topk_method).c_str(),
                to_string(c.scoring_func).c_str(), c.n_group, c.topk_group, c.n_shared_experts,
                c.moe_intermediate_size);
  std::printf("MTP modules    %d\n", c.num_nextn_predict_layers);
  std::printf("parameters     %s total (%lld): main %lld, MTP %lld\n",
              human_count(static_cast<double>(s.total_parameters)).c_str(),
              static_cast<long long>(s.total_parameters), static_cast<long long>(s.main_parameters),
              static_cast<long long>(s.mtp_parameters));
  std::printf("active/token   %s (%lld)\n", human_count(static_cast<double>(s.active_parameters)).c_str(),
              static_cast<long long>(s.active_parameters));
  std::printf("weights read   %s per decoded token (%llu bytes, stored dtypes)\n",
              human_bytes(static_cast<double>(s.weight_bytes_per_token)).c_str(),
              static_cast<unsigned long long>(s.weight_bytes_per_token));
  std::printf("KV cache       latent (MLA): %lld values/token = %s at f32 (frugal), %s at bf16, %s at q8\n",
              static_cast<long long>(s.latent_cache_values), human_bytes(static_cast<double>(latent_f32)).c_str(),
              human_bytes(static_cast<double>(latent_bf16)).c_str(), human_bytes(static_cast<double>(latent_q8)).c_str());
  std::printf("               plain multi-head cache: %lld values/token = %s at bf16 (%.1fx the latent)\n",
              static_cast<long long>(s.mha_cache_values), human_bytes(static_cast<double>(mha_bf16)).c_str(),
              static_cast<double>(s.mha_cache_values) / static_cast<double>(s.latent_cache_values));
  return 0;
}

}  // namespace

Runner add_inspect_command(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* command = app.add_subcommand("inspect", "Describe a checkpoint: shapes, parameters, bytes per token");
  command->add_option("--model", options->model, "Hugging Face checkpoint folder")->required();
  command->add_flag("--json", options->json, "Print the figures as one JSON object");
  return [options] { return run_inspect(*options); };
}

}  // namespace frugal::cli
