#include "frugal/model/init.h"

#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/core/mapped_file.h"
#include "frugal/io/safetensors.h"

namespace frugal {
namespace {

using json = nlohmann::json;

enum class Fill { Normal, Ones, Zeros };

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  Fill fill;
  DType dtype;
};

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

std::vector<TensorSpec> tensor_specs(const Config& c, DType dtype) {
  std::vector<TensorSpec> specs;
  const int64_t D = c.hidden_size, H = c.num_attention_heads;
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) {
    specs.push_back({name, {rows, cols}, Fill::Normal, dtype});
  };
  auto norm = [&](const std::string& name, int64_t size) { specs.push_back({name, {size}, Fill::Ones, dtype}); };
  auto swiglu = [&](const std::string& prefix, int64_t width) {
    matrix(prefix + "gate_proj.weight", width, D);
    matrix(prefix + "up_proj.weight", width, D);
    matrix(prefix + "down_proj.weight", D, width);
  };
  auto layer = [&](int i, bool moe) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    norm(p + "input_layernorm.weight", D);
    norm(p + "post_attention_layernorm.weight", D);
    const std::string a = p + "self_attn.";
    if (c.q_lora_rank > 0) {
      matrix(a + "q_a_proj.weight", c.q_lora_rank, D);
      norm(a + "q_a_layernorm.weight", c.q_lora_rank);
      matrix(a + "q_b_proj.weight", H * c.qk_head_dim(), c.q_lora_rank);
    } else {
      matrix(a + "q_proj.weight", H * c.qk_head_dim(), D);
    }
    matrix(a + "kv_a_proj_with_mqa.weight", c.kv_lora_rank + c.qk_rope_head_dim, D);
    norm(a + "kv_a_layernorm.weight", c.kv_lora_rank);
    matrix(a + "kv_b_proj.weight", H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
    matrix(a + "o_proj.weight", D, H * c.v_head_dim);
    if (!moe) {
      swiglu(p + "mlp.", c.intermediate_size);
      return;
    }
    matrix(p + "mlp.gate.weight", c.n_routed_experts, D);
    if (c.topk_method == TopkMethod::NoauxTc)
      specs.push_back({p + "mlp.gate.e_score_correction_bias", {c.n_routed_experts}, Fill::Zeros, DType::F32});
    for (int e = 0; e < c.n_routed_experts; ++e)
      swiglu(p + "mlp.experts." + std::to_string(e) + ".", c.moe_intermediate_size);
    if (c.n_shared_experts > 0)
      swiglu(p + "mlp.shared_experts.", static_cast<int64_t>(c.moe_intermediate_size) * c.n_shared_experts);
  };

  matrix("model.embed_tokens.weight", c.vocab_size, D);
  for (int i = 0; i < c.num_hidden_layers; ++i) layer(i, c.is_moe_layer(i));
  norm("model.norm.weight", D);
  matrix("lm_head.weight", c.vocab_size, D);
  for (int k = 1; k <= c.num_nextn_predict_layers; ++k) {
    const int i = c.num_hidden_layers + k - 1;
    const std::string p = "model.layers." + std::to_string(i) + ".";
    layer(i, c.n_routed_experts > 0);
    norm(p + "enorm.weight", D);
    norm(p + "hnorm.weight", D);
    matrix(p + "eh_proj.weight", D, 2 * D);
    norm(p + "shared_head.norm.weight", D);
    // Copies of the shared embedding and head, as in the released V3 layout.
    matrix(p + "embed_tokens.weight", c.vocab_size, D);
    matrix(p + "shared_head.head.weight", c.vocab_size, D);
  }
  return specs;
}

// The MTP copies repeat the main tensors' values.
std::string value_source(const std::string& name) {
  if (name.find(".shared_head.head.weight") != std::string::npos) return "lm_head.weight";
  if (name.rfind("model.layers.", 0) == 0 && name.find(".embed_tokens.weight") != std::string::npos)
    return "model.embed_tokens.weight";
  return name;
}

std::vector<uint8_t> make_values(const TensorSpec& spec, uint64_t seed, double std_dev) {
  int64_t n = 1;
  for (int64_t d : spec.shape) n *= d;
  std::vector<uint8_t> bytes(static_cast<std::size_t>(n) * dtype_size(spec.dtype));
  SplitMix64 rng{seed ^ name_hash(value_source(spec.name))};
  for (int64_t i = 0; i < n; ++i) {
    float v = spec.fill == Fill::Ones ? 1.0f : 0.0f;
    if (spec.fill == Fill::Normal) {  // Box-Muller, one value per pair of draws
      const double u1 = rng.uniform(), u2 = rng.uniform();
      v = static_cast<float>(std_dev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
    }
    if (spec.dtype == DType::BF16) {
      const uint16_t b = f32_to_bf16(v);
      std::memcpy(&bytes[2 * i], &b, 2);
    } else {
      std::memcpy(&bytes[4 * i], &v, 4);
    }
  }
  return bytes;
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
  namespace fs = std::filesystem;
  if (options.dtype != DType::BF16 && options.dtype != DType::F32)
    fail("random checkpoints are written as BF16 or F32, not ", dtype_name(options.dtype));
  const Config config = parse_config(config_json.dump(), out_dir + "/config.json");
  fs::create_directories(out_dir);

  const std::vector<TensorSpec> specs = tensor_specs(config, options.dtype);
  // Group tensors into shards of at most shard_bytes (a larger tensor gets its own).
  std::vector<std::vector<std::size_t>> shards(1);
  uint64_t shard_size = 0, total = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    uint64_t bytes = dtype_size(specs[i].dtype);
    for (int64_t d : specs[i].shape) bytes *= static_cast<uint64_t>(d);
    if (shard_size > 0 && shard_size + bytes > options.shard_bytes) {
      shards.emplace_back();
      shard_size = 0;
    }
    shards.back().push_back(i);
    shard_size += bytes;
    total += bytes;
  }

  json weight_map = json::object();
  uint64_t written = 0;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    const std::string file = shards.size() == 1 ? "model.safetensors" : name;
    std::vector<std::vector<uint8_t>> values;
    std::vector<TensorToWrite> tensors;
    for (std::size_t i : shards[s]) {
      values.push_back(make_values(specs[i], options.seed, options.init_std));
      tensors.push_back({specs[i].name, specs[i].dtype, specs[i].shape, values.back().data()});
      weight_map[specs[i].name] = file;
      written += values.back().size();
    }
    write_safetensors((fs::path(out_dir) / file).string(), tensors, {{"format", "pt"}});
    if (total > (256ull << 20))
      std::fprintf(stderr, "\rwrote %s (%.1f of %.1f GB)", file.c_str(), written / 1e9, total / 1e9);
  }
  if (total > (256ull << 20)) std::fputc('\n', stderr);
  if (shards.size() > 1) {
    const json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_file_atomically((fs::path(out_dir) / "model.safetensors.index.json").string(), index.dump(2));
  }
  write_file_atomically((fs::path(out_dir) / "config.json").string(), config_json.dump(2) + "\n");
}

}  // namespace frugal
