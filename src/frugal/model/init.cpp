#include "frugal/model/init.h"

#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/model/checkpoint_layout.h"

namespace frugal {
namespace {

using json = nlohmann::json;

// splitmix64: a tiny, fully specified generator (same values everywhere).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return ((next() >> 11) + 0.5) * 0x1.0p-53; }  // in (0, 1)
};

uint64_t name_hash(const std::string& name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The MTP copies repeat the main tensors' values: the generator is seeded by
// the name of the tensor a copy repeats.
std::vector<float> random_values(const TensorSpec& spec, uint64_t seed, double std_dev) {
  std::vector<float> values(static_cast<std::size_t>(spec.numel()),
                            spec.role == TensorRole::Norm ? 1.0f : 0.0f);
  if (spec.role != TensorRole::Matrix) return values;
  SplitMix64 rng{seed ^ name_hash(shared_tensor_source(spec.name))};
  for (float& v : values) {  // Box-Muller, one value per pair of draws
    const double u1 = rng.uniform(), u2 = rng.uniform();
    v = static_cast<float>(std_dev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }
  return values;
}

}  // namespace

json preset_config(const std::string& preset) {
  // Shapes from DeepSeek's released configs (spec section 1).
  json base = {
      {"architectures", {"DeepseekV3ForCausalLM"}}, {"model_type", "deepseek_v3"},
      {"hidden_act", "silu"}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
      {"tie_word_embeddings", false}, {"attention_bias", false}, {"moe_layer_freq", 1},
      {"bos_token_id", 0}, {"eos_token_id", 1}, {"torch_dtype", "bfloat16"},
      {"max_position_embeddings", 163840},
      {"rope_scaling", {{"type", "yarn"}, {"factor", 40}, {"original_max_position_embeddings", 4096},
                        {"beta_fast", 32}, {"beta_slow", 1}, {"mscale", 1.0}, {"mscale_all_dim", 1.0}}},
      {"qk_nope_head_dim", 128}, {"qk_rope_head_dim", 64}, {"v_head_dim", 128}, {"kv_lora_rank", 512},
  };
  if (preset == "v3") {
    base.update({{"vocab_size", 129280}, {"hidden_size", 7168}, {"intermediate_size", 18432},
                 {"moe_intermediate_size", 2048}, {"num_hidden_layers", 61}, {"first_k_dense_replace", 3},
                 {"num_attention_heads", 128}, {"num_key_value_heads", 128}, {"q_lora_rank", 1536},
                 {"n_routed_experts", 256}, {"n_shared_experts", 1}, {"num_experts_per_tok", 8},
                 {"n_group", 8}, {"topk_group", 4}, {"topk_method", "noaux_tc"}, {"scoring_func", "sigmoid"},
                 {"norm_topk_prob", true}, {"routed_scaling_factor", 2.5}, {"num_nextn_predict_layers", 1}});
  } else if (preset == "v2" || preset == "v2-lite") {
    const bool lite = preset == "v2-lite";
    base.update({{"architectures", {"DeepseekV2ForCausalLM"}}, {"model_type", "deepseek_v2"},
                 {"vocab_size", 102400}, {"hidden_size", lite ? 2048 : 5120},
                 {"intermediate_size", lite ? 10944 : 12288}, {"moe_intermediate_size", lite ? 1408 : 1536},
                 {"num_hidden_layers", lite ? 27 : 60}, {"first_k_dense_replace", 1},
                 {"num_attention_heads", lite ? 16 : 128}, {"num_key_value_heads", lite ? 16 : 128},
                 {"q_lora_rank", lite ? json(nullptr) : json(1536)}, {"n_routed_experts", lite ? 64 : 160},
                 {"n_shared_experts", 2}, {"num_experts_per_tok", 6}, {"n_group", lite ? 1 : 8},
                 {"topk_group", lite ? 1 : 3}, {"topk_method", lite ? "greedy" : "group_limited_greedy"},
                 {"scoring_func", "softmax"}, {"norm_topk_prob", false},
                 {"routed_scaling_factor", lite ? 1.0 : 16.0}});
    base["rope_scaling"]["mscale"] = lite ? 0.707 : 1.0;
    base["rope_scaling"]["mscale_all_dim"] = lite ? 0.707 : 1.0;
  } else if (preset == "tiny") {
    base.update({{"vocab_size", 512}, {"hidden_size", 64}, {"intermediate_size", 96},
                 {"moe_intermediate_size", 32}, {"num_hidden_layers", 4}, {"first_k_dense_replace", 1},
                 {"num_attention_heads", 4}, {"num_key_value_heads", 4}, {"q_lora_rank", 32},
                 {"kv_lora_rank", 32}, {"qk_nope_head_dim", 16}, {"qk_rope_head_dim", 8}, {"v_head_dim", 16},
                 {"n_routed_experts", 16}, {"n_shared_experts", 1}, {"num_experts_per_tok", 4}, {"n_group", 4},
                 {"topk_group", 2}, {"topk_method", "noaux_tc"}, {"scoring_func", "sigmoid"},
                 {"norm_topk_prob", true}, {"routed_scaling_factor", 2.5}, {"num_nextn_predict_layers", 1},
                 {"max_position_embeddings", 4096}});
    base["rope_scaling"]["factor"] = 4;
    base["rope_scaling"]["original_max_position_embeddings"] = 1024;
  } else {
    fail("unknown preset \"", preset, "\"; known: v2-lite, v2, v3, tiny");
  }
  return base;
}

void write_random_checkpoint(const json& config_json, const std::string& out_dir, const InitOptions& options) {
  const Config config = parse_config(config_json.dump(), out_dir + "/config.json");
  uint64_t total_bytes = 0;
  for (const TensorSpec& spec : checkpoint_tensors(config)) total_bytes += spec.numel() * dtype_size(options.dtype);
  CheckpointWriteOptions write;
  write.dtype = options.dtype;
  write.shard_bytes = options.shard_bytes;
  write.show_progress = total_bytes > (256ull << 20);
  write_checkpoint(config_json, out_dir, write, [&](const TensorSpec& spec) {
    return random_values(spec, options.seed, options.init_std);
  });
}

}  // namespace frugal
