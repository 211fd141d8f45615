#include "frugal/model/model_stats.h"

#include <cmath>
#include <string>

#include "frugal/kernels/q4.h"
#include "frugal/kernels/q8.h"

namespace frugal {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Layer index of "model.layers.{i}.…", or -1.
int layer_index(const std::string& name) {
  const std::string prefix = "model.layers.";
  if (name.rfind(prefix, 0) != 0) return -1;
  std::size_t pos = prefix.size();
  int index = 0;
  bool digits = false;
  while (pos < name.size() && name[pos] >= '0' && name[pos] <= '9') {
    index = index * 10 + (name[pos++] - '0');
    digits = true;
  }
  return digits ? index : -1;
}

// The linear weights that convert_weights converts to `format` (see weights.cpp).
bool converted_linear(const TensorView& t, WeightFormat format) {
  return t.shape.size() == 2 && ends_with(t.name, ".weight") && t.name.find("embed_tokens") == std::string::npos &&
         !ends_with(t.name, ".mlp.gate.weight") && (format == WeightFormat::Bf16 || t.shape[1] % kQ8Block == 0);
}

// Bytes a kernel reads for tensor t under `format`.
uint64_t held_bytes(const Checkpoint& checkpoint, const TensorView& t, WeightFormat format) {
  if (format == WeightFormat::Stored || format == WeightFormat::Fp8) return t.byte_size;
  if (ends_with(t.name, "_scale_inv")) {
    const TensorView* weight = checkpoint.find(t.name.substr(0, t.name.size() - std::string("_scale_inv").size()));
    return weight != nullptr && converted_linear(*weight, format) ? 0 : t.byte_size;
  }
  if (!converted_linear(t, format)) return t.byte_size;
  const auto n = static_cast<uint64_t>(t.numel());
  if (format == WeightFormat::Bf16) return 2 * n;
  // Q4 converts the experts to 4 bits (weights.cpp), the rest to 8.
  const bool expert = t.name.find(".mlp.experts.") != std::string::npos ||
                      t.name.find(".mlp.shared_experts.") != std::string::npos;
  if (format == WeightFormat::Q4 && expert)
    return n / 2 + n / kQ4Block * sizeof(float);
  return n + n / kQ8Block * sizeof(float);
}

}  // namespace

ModelStats compute_model_stats(const Checkpoint& checkpoint, const Config& c, WeightFormat format) {
  ModelStats s;
  uint64_t routed_expert_bytes = 0;
  const double active_share =
      c.n_routed_experts > 0 ? static_cast<double>(c.num_experts_per_tok) / c.n_routed_experts : 0.0;

  for (const TensorView* t : checkpoint.all_tensors()) {
    const std::string& name = t->name;
    s.checkpoint_bytes += t->byte_size;
    const int layer = layer_index(name);
    const bool in_mtp = layer >= c.num_hidden_layers;
    const bool is_scale = ends_with(name, "_scale_inv");
    const bool is_routed_expert = name.find(".mlp.experts.") != std::string::npos;

    if (in_mtp) {
      const bool shared_copy = ends_with(name, ".embed_tokens.weight") ||
                               ends_with(name, ".shared_head.head.weight");
      if (!is_scale && !shared_copy) s.mtp_parameters += t->numel();
      continue;
    }
    if (!is_scale) {
      s.main_parameters += t->numel();
      if (is_routed_expert) s.routed_expert_parameters += t->numel();
    }
    const uint64_t bytes = held_bytes(checkpoint, *t, format);
    if (name == "model.embed_tokens.weight") {
      s.weight_bytes_per_token += bytes / static_cast<uint64_t>(c.vocab_size);
    } else if (is_routed_expert) {
      routed_expert_bytes += bytes;
    } else {
      s.weight_bytes_per_token += bytes;
    }
  }
  s.total_parameters = s.main_parameters + s.mtp_parameters;
  s.active_parameters = s.main_parameters - s.routed_expert_parameters +
                        static_cast<int64_t>(static_cast<double>(s.routed_expert_parameters) * active_share + 0.5);
  s.weight_bytes_per_token += static_cast<uint64_t>(static_cast<double>(routed_expert_bytes) * active_share + 0.5);
  s.routed_expert_bytes = routed_expert_bytes;

  const int64_t L = c.num_hidden_layers;
  s.latent_cache_values = L * (c.kv_lora_rank + c.qk_rope_head_dim);
  s.mha_cache_values = L * c.num_attention_heads * (c.qk_head_dim() + c.v_head_dim);
  return s;
}

double decode_step_bytes(const ModelStats& stats, const Config& c, double batch, double cached_positions,
                         double kv_bytes_per_position) {
  const double E = c.n_routed_experts, K = c.num_experts_per_tok;
  const double per_expert = E > 0 ? static_cast<double>(stats.routed_expert_bytes) / E : 0.0;  // all MoE layers
  // Everything one token reads but its K experts: the non-expert weights and
  // an embedding row (the batch's other rows, a few KB, are left out).
  const double shared = static_cast<double>(stats.weight_bytes_per_token) - K * per_expert;
  const double experts_read = E > 0 ? E * (1.0 - std::pow(1.0 - K / E, batch)) : 0.0;
  return shared + experts_read * per_expert + cached_positions * kv_bytes_per_position;
}

}  // namespace frugal
