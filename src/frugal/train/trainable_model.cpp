#include "frugal/train/trainable_model.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/kernels/ops.h"
#include "frugal/train/cross_entropy.h"
#include "frugal/train/gemm.h"

namespace frugal {

TrainableModel::TrainableModel(ParameterStore& store)
    : store_(store), config_(store.config()), attention_(store.config()) {
  prepare_training_runtime();
  if (config_.num_nextn_predict_layers > 1)
    fail("training supports at most one MTP module; config.json has num_nextn_predict_layers = ",
         config_.num_nextn_predict_layers);
  if (config_.tie_word_embeddings) fail("training does not support tie_word_embeddings = true");
  embedding_ = &store.get("model.embed_tokens.weight");
  final_norm_ = &store.get("model.norm.weight");
  lm_head_ = &store.get("lm_head.weight");
  for (int i = 0; i < config_.num_hidden_layers; ++i) layers_.push_back(bind_layer(i, config_.is_moe_layer(i)));
  if (config_.num_nextn_predict_layers == 1) {
    const int i = config_.num_hidden_layers;
    const std::string p = "model.layers." + std::to_string(i) + ".";
    MtpModule m;
    m.embedding_norm = &store.get(p + "enorm.weight");
    m.hidden_norm = &store.get(p + "hnorm.weight");
    m.eh_proj = &store.get(p + "eh_proj.weight");
    m.head_norm = &store.get(p + "shared_head.norm.weight");
    m.layer = bind_layer(i, config_.n_routed_experts > 0);
    mtp_ = std::move(m);
  }
}

TrainableModel::DecoderLayer TrainableModel::bind_layer(int index, bool moe) {
  const std::string p = "model.layers." + std::to_string(index) + ".";
  DecoderLayer layer;
  layer.index = index;
  layer.input_norm = &store_.get(p + "input_layernorm.weight");
  layer.post_attention_norm = &store_.get(p + "post_attention_layernorm.weight");
  layer.attention = bind_attention(store_, config_, p + "self_attn.");
  if (moe) {
    layer.mixture = bind_mixture(store_, config_, p + "mlp.");
  } else {
    layer.dense = bind_feed_forward(store_, p + "mlp.");
  }
  return layer;
}

double TrainableModel::layer_forward(const DecoderLayer& layer, std::vector<float>& h, const SequenceSpans& spans,
                                     DecoderTape& tape, double balance_alpha) {
  const int64_t N = spans.rows(), D = config_.hidden_size;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  std::vector<float> branch(static_cast<std::size_t>(N * D));
  tape.attention_in.resize(branch.size());
  rms_norm_forward(h.data(), layer.input_norm->value.data(), N, D, eps, tape.attention_in.data(), tape.input_norm);
  attention_.forward(layer.attention, tape.attention_in.data(), spans, branch.data(), tape.attention);
  for (std::size_t i = 0; i < h.size(); ++i) h[i] += branch[i];

  tape.ffn_in.resize(branch.size());
  rms_norm_forward(h.data(), layer.post_attention_norm->value.data(), N, D, eps, tape.ffn_in.data(),
                   tape.post_attention_norm);
  double balance = 0.0;
  if (layer.mixture) {
    balance = mixture_forward(config_, *layer.mixture, tape.ffn_in.data(), spans, balance_alpha, branch.data(),
                              tape.mixture);
  } else {
    feed_forward_forward(*layer.dense, tape.ffn_in.data(), N, branch.data(), tape.dense);
  }
  for (std::size_t i = 0; i < h.size(); ++i) h[i] += branch[i];
  return balance;
}

void TrainableModel::layer_backward(const DecoderLayer& layer, const DecoderTape& tape, const SequenceSpans& spans,
                                    std::vector<float>& dh, double balance_alpha, double balance_grad_scale) {
  const int64_t D = config_.hidden_size;
  std::vector<float> dbranch(dh.size()), dnormed(dh.size());
  // h' = u + FFN(norm(u)): du = dh' + norm'(FFN'(dh')).
  if (layer.mixture) {
    mixture_backward(config_, *layer.mixture, tape.mixture, spans, balance_alpha, balance_grad_scale, dh.data(),
                     dnormed.data());
  } else {
    feed_forward_backward(*layer.dense, tape.dense, dh.data(), dnormed.data());
  }
  rms_norm_backward(dnormed.data(), layer.post_attention_norm->value.data(), tape.post_attention_norm, D,
                    dh.data(), layer.post_attention_norm->grad.data(), /*accumulate=*/true);
  // u = h + Attn(norm(h)).
  attention_.backward(layer.attention, tape.attention, spans, dh.data(), dnormed.data());
  rms_norm_backward(dnormed.data(), layer.input_norm->value.data(), tape.input_norm, D, dh.data(),
                    layer.input_norm->grad.data(), /*accumulate=*/true);
}

StepLosses TrainableModel::forward_backward(const std::vector<std::vector<int32_t>>& sequences,
                                            const LossOptions& options) {
  return run(sequences, options, true);
}

StepLosses TrainableModel::evaluate(const std::vector<std::vector<int32_t>>& sequences,
                                    const LossOptions& options) {
  return run(sequences, options, false);
}

StepLosses TrainableModel::run(const std::vector<std::vector<int32_t>>& sequences, const LossOptions& options,
                               bool backward) {
  const int64_t D = config_.hidden_size, V = config_.vocab_size;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  std::vector<int64_t> lengths;
  for (const auto& seq : sequences) {
    if (seq.size() < 2) fail("a training sequence needs at least 2 tokens, got ", seq.size());
    for (int32_t token : seq)
      if (token < 0 || token >= V) fail("token id ", token, " is outside the vocabulary (", V, " tokens)");
    lengths.push_back(static_cast<int64_t>(seq.size()));
  }
  const SequenceSpans spans = SequenceSpans::from_lengths(lengths);
  const int64_t N = spans.rows(), S = spans.count();
  if (S == 0) fail("a training batch needs at least one sequence");
  StepLosses losses;

  // Main model.
  std::vector<float> h(static_cast<std::size_t>(N * D));
  std::vector<int32_t> tokens, targets(static_cast<std::size_t>(N), -1);
  for (const auto& seq : sequences) tokens.insert(tokens.end(), seq.begin(), seq.end());
  for (int64_t t = 0; t < N; ++t) std::copy_n(embedding_->value.data() + tokens[t] * D, D, h.data() + t * D);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = 0; i + 1 < spans.length(s); ++i) targets[spans.begin(s) + i] = tokens[spans.begin(s) + i + 1];
  losses.ce_tokens = N - S;

  std::vector<DecoderTape> tapes(layers_.size());
  double balance_sum = 0.0;
  for (std::size_t l = 0; l < layers_.size(); ++l)
    balance_sum += layer_forward(layers_[l], h, spans, tapes[l], options.balance_alpha);
  losses.balance = balance_sum / S;
  for (std::size_t l = 0; l < layers_.size(); ++l)
    if (layers_[l].mixture) losses.expert_loads.emplace_back(layers_[l].index, tapes[l].mixture.load);

  NormTape final_tape;
  std::vector<float> final_hidden(h.size());
  rms_norm_forward(h.data(), final_norm_->value.data(), N, D, eps, final_hidden.data(), final_tape);
  std::vector<float> logits(static_cast<std::size_t>(N * V));
  matmul_xwt(final_hidden.data(), lm_head_->value.data(), logits.data(), N, V, D);
  losses.ce = cross_entropy_in_place(logits.data(), targets.data(), N, V, 1.0f / losses.ce_tokens) /
              losses.ce_tokens;

  // MTP module 1: row i of a sequence joins the main hidden state at i with
  // the embedding of token i+1 and predicts token i+2.
  std::vector<float> d_final_hidden(h.size(), 0.0f);
  if (mtp_) {
    const MtpModule& m = *mtp_;
    std::vector<int64_t> mtp_lengths;
    for (int64_t n : lengths) mtp_lengths.push_back(n - 1);
    const SequenceSpans mtp_spans = SequenceSpans::from_lengths(mtp_lengths);
    const int64_t M = mtp_spans.rows();
    std::vector<int64_t> main_row(static_cast<std::size_t>(M));
    std::vector<int32_t> next_token(static_cast<std::size_t>(M)), mtp_targets(static_cast<std::size_t>(M), -1);
    std::vector<float> embedded(static_cast<std::size_t>(M * D)), main_hidden(embedded.size());
    for (int64_t s = 0; s < S; ++s)
      for (int64_t i = 0; i < mtp_spans.length(s); ++i) {
        const int64_t row = mtp_spans.begin(s) + i, t = spans.begin(s) + i;
        main_row[row] = t;
        next_token[row] = tokens[t + 1];
        if (i + 2 < spans.length(s)) mtp_targets[row] = tokens[t + 2];
        std::copy_n(embedding_->value.data() + next_token[row] * D, D, embedded.data() + row * D);
        std::copy_n(final_hidden.data() + t * D, D, main_hidden.data() + row * D);
      }
    losses.mtp_tokens = M - S;

    NormTape enorm_tape, hnorm_tape, head_tape;
    std::vector<float> joined(static_cast<std::size_t>(M * 2 * D)), normed(embedded.size());
    rms_norm_forward(embedded.data(), m.embedding_norm->value.data(), M, D, eps, normed.data(), enorm_tape);
    for (int64_t r = 0; r < M; ++r) std::copy_n(normed.data() + r * D, D, joined.data() + r * 2 * D);
    rms_norm_forward(main_hidden.data(), m.hidden_norm->value.data(), M, D, eps, normed.data(), hnorm_tape);
    for (int64_t r = 0; r < M; ++r) std::copy_n(normed.data() + r * D, D, joined.data() + r * 2 * D + D);
    std::vector<float> y(static_cast<std::size_t>(M * D));
    matmul_xwt(joined.data(), m.eh_proj->value.data(), y.data(), M, D, 2 * D);
    DecoderTape layer_tape;
    layer_forward(m.layer, y, mtp_spans, layer_tape, options.balance_alpha);
    if (m.layer.mixture) losses.expert_loads.emplace_back(m.layer.index, layer_tape.mixture.load);
    std::vector<float> head_in(y.size());
    rms_norm_forward(y.data(), m.head_norm->value.data(), M, D, eps, head_in.data(), head_tape);
    std::vector<float> mtp_logits(static_cast<std::size_t>(M * V));
    matmul_xwt(head_in.data(), lm_head_->value.data(), mtp_logits.data(), M, V, D);
    const float mtp_scale = losses.mtp_tokens > 0 ? static_cast<float>(options.mtp_weight / losses.mtp_tokens) : 0.0f;
    const double mtp_sum = cross_entropy_in_place(mtp_logits.data(), mtp_targets.data(), M, V, mtp_scale);
    losses.mtp = losses.mtp_tokens > 0 ? mtp_sum / losses.mtp_tokens : 0.0;

    if (backward) {
      std::vector<float> dy(y.size());
      accumulate_xtw(mtp_logits.data(), head_in.data(), lm_head_->grad.data(), M, V, D);
      matmul_xw(mtp_logits.data(), lm_head_->value.data(), head_in.data(), M, V, D);  // head_in := its gradient
      rms_norm_backward(head_in.data(), m.head_norm->value.data(), head_tape, D, dy.data(), m.head_norm->grad.data());
      layer_backward(m.layer, layer_tape, mtp_spans, dy, options.balance_alpha, 0.0);
      accumulate_xtw(dy.data(), joined.data(), m.eh_proj->grad.data(), M, D, 2 * D);
      matmul_xw(dy.data(), m.eh_proj->value.data(), joined.data(), M, D, 2 * D);  // joined := its gradient
      for (int64_t r = 0; r < M; ++r) std::copy_n(joined.data() + r * 2 * D, D, normed.data() + r * D);
      rms_norm_backward(normed.data(), m.embedding_norm->value.data(), enorm_tape, D, embedded.data(),
                        m.embedding_norm->grad.data());
      for (int64_t r = 0; r < M; ++r)
        axpy(1.0f, embedded.data() + r * D, embedding_->grad.data() + next_token[r] * D, D);
      for (int64_t r = 0; r < M; ++r) std::copy_n(joined.data() + r * 2 * D + D, D, normed.data() + r * D);
      rms_norm_backward(normed.data(), m.hidden_norm->value.data(), hnorm_tape, D, main_hidden.data(),
                        m.hidden_norm->grad.data());
      for (int64_t r = 0; r < M; ++r)
        axpy(1.0f, main_hidden.data() + r * D, d_final_hidden.data() + main_row[r] * D, D);
    }
  }
  losses.total = losses.ce + options.mtp_weight * losses.mtp + (options.balance_in_loss ? losses.balance : 0.0);
  if (!backward) return losses;

  // Main backward: logits now hold their gradient.
  accumulate_xtw(logits.data(), final_hidden.data(), lm_head_->grad.data(), N, V, D);
  matmul_xw(logits.data(), lm_head_->value.data(), d_final_hidden.data(), N, V, D, /*accumulate=*/true);
  std::vector<float> dh(h.size());
  rms_norm_backward(d_final_hidden.data(), final_norm_->value.data(), final_tape, D, dh.data(),
                    final_norm_->grad.data());
  const double balance_grad_scale = options.balance_in_loss ? 1.0 / S : 0.0;
  for (std::size_t l = layers_.size(); l-- > 0;)
    layer_backward(layers_[l], tapes[l], spans, dh, options.balance_alpha, balance_grad_scale);
  for (int64_t t = 0; t < N; ++t) axpy(1.0f, dh.data() + t * D, embedding_->grad.data() + tokens[t] * D, D);
  return losses;
}

}  // namespace frugal
