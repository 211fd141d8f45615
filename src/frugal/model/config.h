#pragma once
// The model hyper-parameters from a Hugging Face config.json of
// DeepseekV2ForCausalLM or DeepseekV3ForCausalLM (spec section 1). Absent
// fields take the defaults of DeepSeek's ModelArgs; impossible values are
// rejected with the name of the field.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace frugal {

enum class ModelFamily { DeepSeekV2, DeepSeekV3 };
enum class TopkMethod { Greedy, GroupLimitedGreedy, NoauxTc };
enum class ScoringFunc { Softmax, Sigmoid };
enum class RopeScalingType { None, Linear, Yarn };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  double factor = 1.0;
  int original_max_position_embeddings = 4096;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;  // official ModelArgs.mscale; 0 = no softmax correction
};

struct Config {
  ModelFamily family = ModelFamily::DeepSeekV3;
  std::string architecture;  // "DeepseekV3ForCausalLM", ...

  int vocab_size = 0;
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int q_lora_rank = 0;  // 0 = no query compression (config null)
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;
  int intermediate_size = 0;

  int moe_intermediate_size = 0;
  int n_routed_experts = 0;  // 0 = dense model (config null)
  int n_shared_experts = 0;
  int num_experts_per_tok = 0;
  int first_k_dense_replace = 0;
  int moe_layer_freq = 1;
  int n_group = 1;
  int topk_group = 1;
  TopkMethod topk_method = TopkMethod::Greedy;
  ScoringFunc scoring_func = ScoringFunc::Softmax;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;

  int num_nextn_predict_layers = 0;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int max_position_embeddings = 4096;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  std::vector<int32_t> eos_token_ids;  // eos_token_id: one id or a list (may be empty)

  // FP8 block scaling (quantization_config.weight_block_size), 0 = absent.
  int weight_block_rows = 0;
  int weight_block_cols = 0;

  int qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  bool is_moe_layer(int layer) const;
  // (dn + dr)^-0.5 * mscale(factor, mscale_all_dim)^2 (spec 5.3).
  double softmax_scale() const;
  std::string family_name() const;
};

// YaRN's magnitude correction (spec 5.3): 1 for factor <= 1, else 0.1 m ln(factor) + 1.
double yarn_mscale(double factor, double m);

// Parses config.json text; `source` names the file in errors.
Config parse_config(const std::string& json_text, const std::string& source);
Config load_config(const std::string& checkpoint_dir);

std::string to_string(TopkMethod method);
std::string to_string(ScoringFunc scoring);

}  // namespace frugal
