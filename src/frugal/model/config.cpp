#include "frugal/model/config.h"

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/io/checkpoint.h"

namespace frugal {
namespace {

using json = nlohmann::json;

// Typed access to config.json fields with errors that name the field.
class Fields {
 public:
  Fields(const json& object, std::string source, std::string prefix = "")
      : object_(object), source_(std::move(source)), prefix_(std::move(prefix)) {}

  bool present(const char* key) const { return object_.contains(key) && !object_[key].is_null(); }

  [[noreturn]] void bad(const char* key, const std::string& why) const {
    fail(source_, ": field \"", prefix_, key, "\" ", why);
  }

  int integer(const char* key) const {
    if (!present(key)) bad(key, "is missing");
    return as_int(key);
  }
  int integer(const char* key, int fallback) const { return present(key) ? as_int(key) : fallback; }

  double number(const char* key) const {
    if (!present(key)) bad(key, "is missing");
    return as_double(key);
  }
  double number(const char* key, double fallback) const {
    return present(key) ? as_double(key) : fallback;
  }

  bool boolean(const char* key, bool fallback) const {
    if (!present(key)) return fallback;
    if (!object_[key].is_boolean()) bad(key, "must be true or false, got " + object_[key].dump());
    return object_[key].get<bool>();
  }

  std::string text(const char* key, const std::string& fallback) const {
    if (!present(key)) return fallback;
    if (!object_[key].is_string()) bad(key, "must be a string, got " + object_[key].dump());
    return object_[key].get<std::string>();
  }

  void require_positive(const char* key, double value) const {
    if (!(value > 0)) bad(key, "must be positive, got " + format(value));
  }
  void require_non_negative(const char* key, double value) const {
    if (!(value >= 0)) bad(key, "must not be negative, got " + format(value));
  }

 private:
  static std::string format(double v) { return json(v).dump(); }

  int as_int(const char* key) const {
    const json& v = object_[key];
    if (v.is_number_integer()) {
      const auto value = v.get<int64_t>();
      if (value < -(1ll << 31) || value >= (1ll << 31)) bad(key, "is out of range: " + v.dump());
      return static_cast<int>(value);
    }
    if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
        std::fabs(v.get<double>()) < 2e9)
      return static_cast<int>(v.get<double>());
    bad(key, "must be an integer, got " + v.dump());
  }
  double as_double(const char* key) const {
    const json& v = object_[key];
    if (!v.is_number()) bad(key, "must be a number, got " + v.dump());
    const double value = v.get<double>();
    if (!std::isfinite(value)) bad(key, "must be finite");
    return value;
  }

  const json& object_;
  std::string source_;
  std::string prefix_;
};

void parse_rope_scaling(const json& root, const std::string& source, Config& c) {
  // Newer transformers fold rope_scaling into rope_parameters.
  const char* key = root.contains("rope_scaling") && !root["rope_scaling"].is_null()
                        ? "rope_scaling"
                        : (root.contains("rope_parameters") ? "rope_parameters" : nullptr);
  if (key == nullptr || root[key].is_null()) return;
  if (!root[key].is_object()) fail(source, ": field \"", key, "\" must be an object or null");
  const Fields f(root[key], source, std::string(key) + ".");
  std::string type = f.text("type", f.text("rope_type", "default"));
  RopeScaling& r = c.rope_scaling;
  if (type == "default") {
    r.type = RopeScalingType::None;
    return;
  }
  if (type == "linear") {
    r.type = RopeScalingType::Linear;
    r.factor = f.number("factor");
    f.require_positive("factor", r.factor);
    return;
  }
  if (type != "yarn")
    f.bad("type", "is \"" + type + "\"; supported RoPE scalings are yarn, linear and default");
  r.type = RopeScalingType::Yarn;
  r.factor = f.number("factor");
  f.require_positive("factor", r.factor);
  r.original_max_position_embeddings = f.integer("original_max_position_embeddings", 4096);
  f.require_positive("original_max_position_embeddings", r.original_max_position_embeddings);
  r.beta_fast = f.number("beta_fast", 32.0);
  r.beta_slow = f.number("beta_slow", 1.0);
  f.require_positive("beta_fast", r.beta_fast);
  f.require_positive("beta_slow", r.beta_slow);
  r.mscale = f.number("mscale", 1.0);
  r.mscale_all_dim = f.number("mscale_all_dim", 0.0);
}

void validate(const Fields& f, const Config& c) {
  for (const auto& [key, value] :
       {std::pair{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size},
        {"num_hidden_layers", c.num_hidden_layers}, {"num_attention_heads", c.num_attention_heads},
        {"kv_lora_rank", c.kv_lora_rank}, {"qk_nope_head_dim", c.qk_nope_head_dim},
        {"qk_rope_head_dim", c.qk_rope_head_dim}, {"v_head_dim", c.v_head_dim},
        {"max_position_embeddings", c.max_position_embeddings}})
    f.require_positive(key, value);
  f.require_non_negative("q_lora_rank", c.q_lora_rank);
  f.require_non_negative("num_nextn_predict_layers", c.num_nextn_predict_layers);
  f.require_positive("rms_norm_eps", c.rms_norm_eps);
  f.require_positive("rope_theta", c.rope_theta);
  if (c.qk_rope_head_dim % 2 != 0)
    f.bad("qk_rope_head_dim", "must be even (RoPE rotates pairs), got " + std::to_string(c.qk_rope_head_dim));
  if (c.first_k_dense_replace < 0 || c.first_k_dense_replace > c.num_hidden_layers)
    f.bad("first_k_dense_replace", "must be between 0 and num_hidden_layers (" +
                                       std::to_string(c.num_hidden_layers) + "), got " +
                                       std::to_string(c.first_k_dense_replace));
  bool any_dense = c.n_routed_experts == 0 || c.first_k_dense_replace > 0 || c.moe_layer_freq > 1;
  if (any_dense) f.require_positive("intermediate_size", c.intermediate_size);
  if (c.n_routed_experts == 0) return;

  f.require_positive("moe_layer_freq", c.moe_layer_freq);
  f.require_positive("moe_intermediate_size", c.moe_intermediate_size);
  f.require_positive("num_experts_per_tok", c.num_experts_per_tok);
  f.require_non_negative("n_shared_experts", c.n_shared_experts);
  f.require_positive("n_group", c.n_group);
  f.require_positive("topk_group", c.topk_group);
  f.require_positive("routed_scaling_factor", c.routed_scaling_factor);
  const std::string E = std::to_string(c.n_routed_experts);
  if (c.num_experts_per_tok > c.n_routed_experts)
    f.bad("num_experts_per_tok", "(" + std::to_string(c.num_experts_per_tok) +
                                     ") exceeds n_routed_experts (" + E + ")");
  if (c.topk_group > c.n_group)
    f.bad("topk_group", "(" + std::to_string(c.topk_group) + ") exceeds n_group (" +
                            std::to_string(c.n_group) + ")");
  if (c.n_routed_experts % c.n_group != 0)
    f.bad("n_group", "(" + std::to_string(c.n_group) + ") must divide n_routed_experts (" + E + ")");
  const int group_size = c.n_routed_experts / c.n_group;
  if (c.topk_method != TopkMethod::Greedy &&
      c.num_experts_per_tok > c.topk_group * group_size)
    f.bad("num_experts_per_tok", "(" + std::to_string(c.num_experts_per_tok) +
                                     ") exceeds the experts in topk_group groups (" +
                                     std::to_string(c.topk_group * group_size) + ")");
  if (c.topk_method == TopkMethod::NoauxTc && c.n_group > 1 && group_size < 2)
    f.bad("n_group", "leaves fewer than 2 experts per group; noaux_tc scores a group by its top two");
}

}  // namespace

double yarn_mscale(double factor, double m) {
  return factor <= 1.0 ? 1.0 : 0.1 * m * std::log(factor) + 1.0;
}

bool Config::is_moe_layer(int layer) const {
  return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
}

double Config::softmax_scale() const {
  double scale = 1.0 / std::sqrt(static_cast<double>(qk_head_dim()));
  if (rope_scaling.type == RopeScalingType::Yarn && rope_scaling.mscale_all_dim != 0.0) {
    const double m = yarn_mscale(rope_scaling.factor, rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

std::string Config::family_name() const {
  return family == ModelFamily::DeepSeekV3 ? "DeepSeek-V3" : "DeepSeek-V2";
}

std::string to_string(TopkMethod method) {
  switch (method) {
    case TopkMethod::Greedy: return "greedy";
    case TopkMethod::GroupLimitedGreedy: return "group_limited_greedy";
    case TopkMethod::NoauxTc: return "noaux_tc";
  }
  return "?";
}

std::string to_string(ScoringFunc scoring) {
  return scoring == ScoringFunc::Softmax ? "softmax" : "sigmoid";
}

Config parse_config(const std::string& json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    fail(source, ": not valid JSON: ", e.what());
  }
  if (!root.is_object()) fail(source, ": top level is not a JSON object");
  const Fields f(root, source);
  Config c;

  if (!root.contains("architectures") || !root["architectures"].is_array() ||
      root["architectures"].empty() || !root["architectures"][0].is_string())
    f.bad("architectures", "must list the model class (DeepseekV2ForCausalLM or DeepseekV3ForCausalLM)");
  c.architecture = root["architectures"][0].get<std::string>();
  if (c.architecture == "DeepseekV3ForCausalLM") {
    c.family = ModelFamily::DeepSeekV3;
  } else if (c.architecture == "DeepseekV2ForCausalLM") {
    c.family = ModelFamily::DeepSeekV2;
  } else {
    f.bad("architectures", "names \"" + c.architecture +
                               "\"; frugal runs DeepseekV2ForCausalLM and DeepseekV3ForCausalLM");
  }

  c.vocab_size = f.integer("vocab_size");
  c.hidden_size = f.integer("hidden_size");
  c.num_hidden_layers = f.integer("num_hidden_layers");
  c.num_attention_heads = f.integer("num_attention_heads");
  c.q_lora_rank = f.integer("q_lora_rank", 0);
  c.kv_lora_rank = f.integer("kv_lora_rank");
  c.qk_nope_head_dim = f.integer("qk_nope_head_dim");
  c.qk_rope_head_dim = f.integer("qk_rope_head_dim");
  c.v_head_dim = f.integer("v_head_dim");
  c.intermediate_size = f.integer("intermediate_size", 0);

  c.n_routed_experts = f.integer("n_routed_experts", 0);
  if (c.n_routed_experts < 0) f.bad("n_routed_experts", "must not be negative");
  if (c.n_routed_experts > 0) {
    c.moe_intermediate_size = f.integer("moe_intermediate_size");
    c.num_experts_per_tok = f.integer("num_experts_per_tok");
  }
  c.n_shared_experts = f.integer("n_shared_experts", 0);
  c.first_k_dense_replace = f.integer("first_k_dense_replace", 0);
  c.moe_layer_freq = f.integer("moe_layer_freq", 1);
  c.n_group = f.integer("n_group", 1);
  c.topk_group = f.integer("topk_group", 1);
  // "gready" is the (misspelt) default of transformers' DeepseekV2Config.
  const std::string method = f.text("topk_method", "greedy");
  if (method == "greedy" || method == "gready") {
    c.topk_method = TopkMethod::Greedy;
  } else if (method == "group_limited_greedy") {
    c.topk_method = TopkMethod::GroupLimitedGreedy;
  } else if (method == "noaux_tc") {
    c.topk_method = TopkMethod::NoauxTc;
  } else {
    f.bad("topk_method", "is \"" + method + "\"; expected greedy, group_limited_greedy or noaux_tc");
  }
  const std::string scoring = f.text("scoring_func", "softmax");
  if (scoring == "softmax") {
    c.scoring_func = ScoringFunc::Softmax;
  } else if (scoring == "sigmoid") {
    c.scoring_func = ScoringFunc::Sigmoid;
  } else {
    f.bad("scoring_func", "is \"" + scoring + "\"; expected softmax or sigmoid");
  }
  c.norm_topk_prob = f.boolean("norm_topk_prob", false);
  c.routed_scaling_factor = f.number("routed_scaling_factor", 1.0);

  c.num_nextn_predict_layers = f.integer("num_nextn_predict_layers", 0);
  c.rope_theta = f.number("rope_theta", 10000.0);
  parse_rope_scaling(root, source, c);
  c.max_position_embeddings = f.integer("max_position_embeddings", 4096);
  c.rms_norm_eps = f.number("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  if (f.present("eos_token_id")) {
    const json& eos = root["eos_token_id"];
    for (const json& id : eos.is_array() ? eos : json::array({eos})) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= c.vocab_size)
        f.bad("eos_token_id", "must be token ids below vocab_size, got " + eos.dump());
      c.eos_token_ids.push_back(id.get<int32_t>());
    }
  }

  const std::string act = f.text("hidden_act", "silu");
  if (act != "silu") f.bad("hidden_act", "is \"" + act + "\"; DeepSeek models use silu");
  if (f.boolean("attention_bias", false))
    f.bad("attention_bias", "is true; DeepSeek models have no attention biases");

  if (f.present("quantization_config")) {
    const json& q = root["quantization_config"];
    if (!q.is_object()) f.bad("quantization_config", "must be an object");
    const Fields qf(q, source, "quantization_config.");
    const std::string quant = qf.text("quant_method", "");
    if (quant != "fp8")
      qf.bad("quant_method", "is \"" + quant + "\"; frugal reads fp8 block-scaled checkpoints");
    const std::string fmt = qf.text("fmt", "e4m3");
    if (fmt != "e4m3") qf.bad("fmt", "is \"" + fmt + "\"; only e4m3 is supported");
    if (!q.contains("weight_block_size") || !q["weight_block_size"].is_array() ||
        q["weight_block_size"].size() != 2 || !q["weight_block_size"][0].is_number_integer() ||
        !q["weight_block_size"][1].is_number_integer() ||
        q["weight_block_size"][0].get<int64_t>() <= 0 || q["weight_block_size"][1].get<int64_t>() <= 0 ||
        q["weight_block_size"][0].get<int64_t>() > (1 << 20) ||
        q["weight_block_size"][1].get<int64_t>() > (1 << 20))
      qf.bad("weight_block_size", "must be two positive integers [rows, cols]");
    c.weight_block_rows = q["weight_block_size"][0].get<int>();
    c.weight_block_cols = q["weight_block_size"][1].get<int>();
  }

  validate(f, c);
  return c;
}

Config load_config(const std::string& checkpoint_dir) {
  const std::string path = (std::filesystem::path(checkpoint_dir) / "config.json").string();
  if (!std::filesystem::exists(path)) fail(checkpoint_dir, ": no config.json");
  return parse_config(read_text_file(path), path);
}

}  // namespace frugal
