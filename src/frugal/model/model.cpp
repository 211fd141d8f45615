#include "frugal/model/model.h"

#include "frugal/core/error.h"
#include "frugal/kernels/linear.h"
#include "frugal/kernels/ops.h"

namespace frugal {

void ForwardTrace::add(const std::string& name, const float* data, int64_t count) {
  auto& v = values[name];
  v.insert(v.end(), data, data + count);
}

void ForwardTrace::add_ids(const std::string& name, const int32_t* data, int64_t count) {
  auto& v = ids[name];
  v.insert(v.end(), data, data + count);
}

Model::Model(const std::string& checkpoint_dir, WeightFormat weights)
    : checkpoint_(std::make_unique<Checkpoint>(checkpoint_dir)),
      config_(load_config(checkpoint_dir)),
      weights_(load_weights(*checkpoint_, config_)),
      rope_(config_),
      weight_format_(weights) {
  convert_weights(weights_, config_, weights);
  pack_for_decode(weights_);
}

Model::Model(const TensorSource& tensors, const Config& config)
    : config_(config), weights_(load_weights(tensors, config_)), rope_(config_), weight_format_(WeightFormat::Stored) {
  pack_for_decode(weights_);
}

const Checkpoint& Model::checkpoint() const {
  if (!checkpoint_) fail("internal: this model was not loaded from a checkpoint folder");
  return *checkpoint_;
}

KvCache Model::new_cache(int64_t capacity, DType dtype) const {
  return KvCache(config_, config_.num_hidden_layers + mtp_modules(), capacity, dtype);
}

void Model::embed(const int32_t* tokens, int64_t n, int64_t first, float* out) const {
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= config_.vocab_size)
      fail("token id ", tokens[t], " at position ", first + t, " is outside the vocabulary of ",
           config_.vocab_size, " tokens");
    weights_.embed_tokens.decode_row(tokens[t], out + t * config_.hidden_size);
  }
}

void Model::decoder_layer(const DecoderLayerWeights& layer, int cache_layer, float* h, int64_t n,
                          const AttentionTarget& target, const ForwardOptions& options) const {
  const int64_t D = config_.hidden_size;
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  std::vector<float> normed(static_cast<std::size_t>(n * D)), delta(normed.size());

  rms_norm(h, layer.input_norm.data(), n, D, eps, normed.data());
  if (target.slots != nullptr) {
    mla_decode_batch(config_, layer.attention, normed.data(), n, target.slots->data(), *target.slot_angles,
                     cache_layer, delta.data());
  } else {
    RopeAngles angles;
    rope_.angles(target.first, n, angles.cos, angles.sin);
    const AttentionForm form =
        n == 1 ? AttentionForm::Absorbed
               : options.prefill_attention.value_or(
                     prefill_attention_form(config_, target.cache->dtype(), target.first, n));
    mla_forward(config_, layer.attention, normed.data(), n, target.first, angles, *target.cache, cache_layer, form,
                delta.data());
  }
  axpy(1.0f, delta.data(), h, n * D);

  rms_norm(h, layer.post_attention_norm.data(), n, D, eps, normed.data());
  if (layer.moe) {
    Routing routing;
    moe_forward(config_, *layer.moe, normed.data(), n, delta.data(), &routing);
    if (options.trace) {
      const std::string name = "routing.layer" + std::to_string(cache_layer);
      options.trace->add_ids(name + ".ids", routing.ids.data(), n * routing.k);
      options.trace->add(name + ".weights", routing.weights.data(), n * routing.k);
    }
  } else {
    swiglu_forward(*layer.dense_mlp, normed.data(), n, delta.data());
  }
  axpy(1.0f, delta.data(), h, n * D);
}

void Model::forward(const int32_t* tokens, int64_t n, KvCache& cache, float* logits,
                    float* final_hidden, const ForwardOptions& options) const {
  if (n <= 0) return;
  const int64_t D = config_.hidden_size;
  const int64_t first = cache.filled(0);
  for (int i = 0; i < config_.num_hidden_layers; ++i) cache.reserve(i, first, n);

  std::vector<float> h(static_cast<std::size_t>(n * D));
  embed(tokens, n, first, h.data());
  if (options.trace) options.trace->add("hidden.embed", h.data(), n * D);
  for (int i = 0; i < config_.num_hidden_layers; ++i) {
    decoder_layer(weights_.layers[i], i, h.data(), n, {&cache, first}, options);
    if (options.trace) options.trace->add("hidden.layer" + std::to_string(i), h.data(), n * D);
  }
  rms_norm(h.data(), weights_.final_norm.data(), n, D, static_cast<float>(config_.rms_norm_eps),
           h.data());
  if (options.trace) options.trace->add("hidden.final_norm", h.data(), n * D);
  if (final_hidden != nullptr) std::copy(h.begin(), h.end(), final_hidden);
  if (logits == nullptr) return;
  if (options.last_logits_only) {
    linear(h.data() + (n - 1) * D, 1, weights_.lm_head, logits);
  } else {
    linear(h.data(), n, weights_.lm_head, logits);
  }
}

void Model::forward_decode_batch(const int32_t* tokens, int64_t n, KvCache* const* caches, float* logits) const {
  if (n <= 0) return;
  const int64_t D = config_.hidden_size, pairs = config_.qk_rope_head_dim / 2;
  std::vector<CacheSlot> slots(static_cast<std::size_t>(n));
  RopeAngles angles;
  angles.cos.resize(static_cast<std::size_t>(n * pairs));
  angles.sin.resize(angles.cos.size());
  std::vector<float> cos, sin;
  std::vector<float> h(static_cast<std::size_t>(n * D));
  for (int64_t i = 0; i < n; ++i) {
    slots[i] = {caches[i], caches[i]->filled(0)};
    for (int64_t j = 0; j < i; ++j)
      if (caches[j] == caches[i]) fail("internal: a decode batch holds the same sequence twice");
    rope_.angles(slots[i].position, 1, cos, sin);
    std::copy(cos.begin(), cos.end(), angles.cos.begin() + i * pairs);
    std::copy(sin.begin(), sin.end(), angles.sin.begin() + i * pairs);
    embed(tokens + i, 1, slots[i].position, h.data() + i * D);
  }
  const AttentionTarget target{nullptr, 0, &slots, &angles};
  for (int i = 0; i < config_.num_hidden_layers; ++i) decoder_layer(weights_.layers[i], i, h.data(), n, target, {});
  rms_norm(h.data(), weights_.final_norm.data(), n, D, static_cast<float>(config_.rms_norm_eps), h.data());
  linear(h.data(), n, weights_.lm_head, logits);
}

void Model::mtp_forward(int k, const float* previous_hidden, const int32_t* next_tokens,
                        int64_t n, KvCache& cache, float* logits, float* output_hidden,
                        const ForwardOptions& options) const {
  if (k < 1 || k > mtp_modules())
    fail("MTP module ", k, " requested but the model has ", mtp_modules());
  if (n <= 0) return;
  const MtpWeights& m = weights_.mtp[k - 1];
  const int cache_layer = config_.num_hidden_layers + k - 1;
  const int64_t D = config_.hidden_size;
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  const int64_t first = cache.filled(cache_layer);

  // x_i = [enorm(embed(t_{i+k})), hnorm(h_i)] eh_proj^T
  std::vector<float> joined(static_cast<std::size_t>(n * 2 * D));
  std::vector<float> row(static_cast<std::size_t>(D));
  for (int64_t i = 0; i < n; ++i) {
    embed(next_tokens + i, 1, first + i + k, row.data());
    rms_norm(row.data(), m.embedding_norm.data(), 1, D, eps, joined.data() + i * 2 * D);
    rms_norm(previous_hidden + i * D, m.hidden_norm.data(), 1, D, eps,
             joined.data() + i * 2 * D + D);
  }
  std::vector<float> h(static_cast<std::size_t>(n * D));
  linear(joined.data(), n, m.eh_proj, h.data());
  decoder_layer(m.layer, cache_layer, h.data(), n, {&cache, first}, options);
  if (options.trace) options.trace->add("mtp" + std::to_string(k) + "_hidden", h.data(), n * D);
  if (output_hidden != nullptr) std::copy(h.begin(), h.end(), output_hidden);
  rms_norm(h.data(), m.head_norm.data(), n, D, eps, h.data());
  if (logits != nullptr) linear(h.data(), n, weights_.lm_head, logits);
}

}  // namespace frugal
