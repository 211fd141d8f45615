#include "frugal/train/trainable_model.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/kernels/ops.h"
#include "frugal/train/token_log_probs.h"
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

struct TrainableModel::Pass {
  SequenceSpans spans;
  std::vector<int32_t> tokens, targets;  // targets[t] = token t+1 of the same sequence, or -1
  std::vector<DecoderTape> tapes;
  NormTape final_tape;
  std::vector<float> final_hidden;  // RMSNorm(h_L) [N, D]
  std::vector<float> probs;         // softmax of the logits [N, V]
  std::vector<float> log_probs;     // log p(target) [N]
  StepLosses routing;               // balance and expert loads
  double balance_alpha = 0.0;

  bool mtp = false;
  SequenceSpans mtp_spans;
  std::vector<int64_t> main_row;       // MTP row -> main row it continues
  std::vector<int32_t> next_token;     // the token whose embedding enters each MTP row
  std::vector<int32_t> mtp_targets;
  NormTape enorm_tape, hnorm_tape, head_tape;
  std::vector<float> joined;           // [enorm(embedding), hnorm(hidden)] [M, 2D]
  DecoderTape mtp_layer;
  std::vector<float> head_in;          // shared_head.norm output [M, D]
  std::vector<float> mtp_probs, mtp_log_probs;
};

TrainableModel::~TrainableModel() = default;

std::span<const float> TrainableModel::forward(const std::vector<std::vector<int32_t>>& sequences,
                                               const PassOptions& options) {
  const int64_t D = config_.hidden_size, V = config_.vocab_size;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  std::vector<int64_t> lengths;
  for (const auto& seq : sequences) {
    if (seq.size() < 2) fail("a training sequence needs at least 2 tokens, got ", seq.size());
    for (int32_t token : seq)
      if (token < 0 || token >= V) fail("token id ", token, " is outside the vocabulary (", V, " tokens)");
    lengths.push_back(static_cast<int64_t>(seq.size()));
  }
  if (sequences.empty()) fail("a training batch needs at least one sequence");
  pass_ = std::make_unique<Pass>();
  Pass& pass = *pass_;
  pass.spans = SequenceSpans::from_lengths(lengths);
  pass.balance_alpha = options.balance_alpha;
  const SequenceSpans& spans = pass.spans;
  const int64_t N = spans.rows(), S = spans.count();

  std::vector<float> h(static_cast<std::size_t>(N * D));
  for (const auto& seq : sequences) pass.tokens.insert(pass.tokens.end(), seq.begin(), seq.end());
  pass.targets.assign(static_cast<std::size_t>(N), -1);
  for (int64_t t = 0; t < N; ++t) std::copy_n(embedding_->value.data() + pass.tokens[t] * D, D, h.data() + t * D);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = 0; i + 1 < spans.length(s); ++i)
      pass.targets[spans.begin(s) + i] = pass.tokens[spans.begin(s) + i + 1];

  pass.tapes.resize(layers_.size());
  double balance_sum = 0.0;
  for (std::size_t l = 0; l < layers_.size(); ++l)
    balance_sum += layer_forward(layers_[l], h, spans, pass.tapes[l], options.balance_alpha);
  pass.routing.balance = balance_sum / S;
  for (std::size_t l = 0; l < layers_.size(); ++l)
    if (layers_[l].mixture) pass.routing.expert_loads.emplace_back(layers_[l].index, pass.tapes[l].mixture.load);

  pass.final_hidden.resize(h.size());
  rms_norm_forward(h.data(), final_norm_->value.data(), N, D, eps, pass.final_hidden.data(), pass.final_tape);
  pass.probs.resize(static_cast<std::size_t>(N * V));
  matmul_xwt(pass.final_hidden.data(), lm_head_->value.data(), pass.probs.data(), N, V, D);
  pass.log_probs.resize(static_cast<std::size_t>(N));
  softmax_and_target_log_probs(pass.probs.data(), pass.targets.data(), N, V, pass.log_probs.data());

  pass.mtp = options.mtp && mtp_.has_value();
  if (pass.mtp) mtp_forward(pass, options.balance_alpha);
  return pass.log_probs;
}

// MTP module 1: row i of a sequence joins the main hidden state at i with the
// embedding of token i+1 and predicts token i+2 (spec 7).
void TrainableModel::mtp_forward(Pass& pass, double balance_alpha) {
  const MtpModule& m = *mtp_;
  const int64_t D = config_.hidden_size, V = config_.vocab_size, S = pass.spans.count();
  const float eps = static_cast<float>(config_.rms_norm_eps);
  std::vector<int64_t> lengths;
  for (int64_t s = 0; s < S; ++s) lengths.push_back(pass.spans.length(s) - 1);
  pass.mtp_spans = SequenceSpans::from_lengths(lengths);
  const int64_t M = pass.mtp_spans.rows();
  pass.main_row.resize(static_cast<std::size_t>(M));
  pass.next_token.resize(static_cast<std::size_t>(M));
  pass.mtp_targets.assign(static_cast<std::size_t>(M), -1);
  std::vector<float> embedded(static_cast<std::size_t>(M * D)), main_hidden(embedded.size());
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = 0; i < pass.mtp_spans.length(s); ++i) {
      const int64_t row = pass.mtp_spans.begin(s) + i, t = pass.spans.begin(s) + i;
      pass.main_row[row] = t;
      pass.next_token[row] = pass.tokens[t + 1];
      if (i + 2 < pass.spans.length(s)) pass.mtp_targets[row] = pass.tokens[t + 2];
      std::copy_n(embedding_->value.data() + pass.next_token[row] * D, D, embedded.data() + row * D);
      std::copy_n(pass.final_hidden.data() + t * D, D, main_hidden.data() + row * D);
    }

  pass.joined.resize(static_cast<std::size_t>(M * 2 * D));
  std::vector<float> normed(embedded.size());
  rms_norm_forward(embedded.data(), m.embedding_norm->value.data(), M, D, eps, normed.data(), pass.enorm_tape);
  for (int64_t r = 0; r < M; ++r) std::copy_n(normed.data() + r * D, D, pass.joined.data() + r * 2 * D);
  rms_norm_forward(main_hidden.data(), m.hidden_norm->value.data(), M, D, eps, normed.data(), pass.hnorm_tape);
  for (int64_t r = 0; r < M; ++r) std::copy_n(normed.data() + r * D, D, pass.joined.data() + r * 2 * D + D);
  std::vector<float> y(static_cast<std::size_t>(M * D));
  matmul_xwt(pass.joined.data(), m.eh_proj->value.data(), y.data(), M, D, 2 * D);
  layer_forward(m.layer, y, pass.mtp_spans, pass.mtp_layer, balance_alpha);
  if (m.layer.mixture) pass.routing.expert_loads.emplace_back(m.layer.index, pass.mtp_layer.mixture.load);
  pass.head_in.resize(y.size());
  rms_norm_forward(y.data(), m.head_norm->value.data(), M, D, eps, pass.head_in.data(), pass.head_tape);
  pass.mtp_probs.resize(static_cast<std::size_t>(M * V));
  matmul_xwt(pass.head_in.data(), lm_head_->value.data(), pass.mtp_probs.data(), M, V, D);
  pass.mtp_log_probs.resize(static_cast<std::size_t>(M));
  softmax_and_target_log_probs(pass.mtp_probs.data(), pass.mtp_targets.data(), M, V, pass.mtp_log_probs.data());
}

void TrainableModel::mtp_backward(Pass& pass, std::span<const float> dloss_dmtp_logp,
                                  std::vector<float>& d_final_hidden) {
  const MtpModule& m = *mtp_;
  const int64_t D = config_.hidden_size, V = config_.vocab_size, M = pass.mtp_spans.rows();
  if (static_cast<int64_t>(dloss_dmtp_logp.size()) != M)
    fail("internal: ", dloss_dmtp_logp.size(), " MTP coefficients for ", M, " MTP rows");
  log_prob_gradient_in_place(pass.mtp_probs.data(), pass.mtp_targets.data(), dloss_dmtp_logp.data(), M, V);
  std::vector<float> dy(static_cast<std::size_t>(M * D)), dnormed(dy.size()), dinput(dy.size());
  accumulate_xtw(pass.mtp_probs.data(), pass.head_in.data(), lm_head_->grad.data(), M, V, D);
  matmul_xw(pass.mtp_probs.data(), lm_head_->value.data(), dnormed.data(), M, V, D);
  rms_norm_backward(dnormed.data(), m.head_norm->value.data(), pass.head_tape, D, dy.data(), m.head_norm->grad.data());
  layer_backward(m.layer, pass.mtp_layer, pass.mtp_spans, dy, 0.0, 0.0);
  std::vector<float> djoined(pass.joined.size());
  accumulate_xtw(dy.data(), pass.joined.data(), m.eh_proj->grad.data(), M, D, 2 * D);
  matmul_xw(dy.data(), m.eh_proj->value.data(), djoined.data(), M, D, 2 * D);
  // The embedding half reaches the (shared) embedding rows of the next tokens.
  for (int64_t r = 0; r < M; ++r) std::copy_n(djoined.data() + r * 2 * D, D, dnormed.data() + r * D);
  rms_norm_backward(dnormed.data(), m.embedding_norm->value.data(), pass.enorm_tape, D, dinput.data(),
                    m.embedding_norm->grad.data());
  for (int64_t r = 0; r < M; ++r)
    axpy(1.0f, dinput.data() + r * D, embedding_->grad.data() + pass.next_token[r] * D, D);
  // The hidden half reaches the main model's final hidden state.
  for (int64_t r = 0; r < M; ++r) std::copy_n(djoined.data() + r * 2 * D + D, D, dnormed.data() + r * D);
  rms_norm_backward(dnormed.data(), m.hidden_norm->value.data(), pass.hnorm_tape, D, dinput.data(),
                    m.hidden_norm->grad.data());
  for (int64_t r = 0; r < M; ++r)
    axpy(1.0f, dinput.data() + r * D, d_final_hidden.data() + pass.main_row[r] * D, D);
}

void TrainableModel::backward(std::span<const float> dloss_dlogp, std::span<const float> dloss_dmtp_logp,
                              double balance_grad_scale) {
  if (!pass_) fail("internal: backward() without a forward pass");
  Pass& pass = *pass_;
  const int64_t D = config_.hidden_size, V = config_.vocab_size, N = pass.spans.rows();
  if (static_cast<int64_t>(dloss_dlogp.size()) != N)
    fail("internal: ", dloss_dlogp.size(), " coefficients for ", N, " positions");
  std::vector<float> d_final_hidden(static_cast<std::size_t>(N * D), 0.0f);
  if (pass.mtp && !dloss_dmtp_logp.empty()) mtp_backward(pass, dloss_dmtp_logp, d_final_hidden);

  log_prob_gradient_in_place(pass.probs.data(), pass.targets.data(), dloss_dlogp.data(), N, V);
  accumulate_xtw(pass.probs.data(), pass.final_hidden.data(), lm_head_->grad.data(), N, V, D);
  matmul_xw(pass.probs.data(), lm_head_->value.data(), d_final_hidden.data(), N, V, D, /*accumulate=*/true);
  std::vector<float> dh(d_final_hidden.size());
  rms_norm_backward(d_final_hidden.data(), final_norm_->value.data(), pass.final_tape, D, dh.data(),
                    final_norm_->grad.data());
  for (std::size_t l = layers_.size(); l-- > 0;)
    layer_backward(layers_[l], pass.tapes[l], pass.spans, dh, pass.balance_alpha, balance_grad_scale);
  for (int64_t t = 0; t < N; ++t) axpy(1.0f, dh.data() + t * D, embedding_->grad.data() + pass.tokens[t] * D, D);
  pass_.reset();
}

const SequenceSpans& TrainableModel::spans() const { return pass_->spans; }
const SequenceSpans& TrainableModel::mtp_spans() const { return pass_->mtp_spans; }
std::span<const float> TrainableModel::mtp_log_probs() const { return pass_->mtp_log_probs; }
const StepLosses& TrainableModel::routing_stats() const { return pass_->routing; }

// Means over the positions whose targets count, pooled across sequences.
StepLosses TrainableModel::next_token_losses(const LossOptions& options, std::span<const int64_t> loss_starts,
                                             std::vector<float>& mask, std::vector<float>& mtp_mask) const {
  const Pass& pass = *pass_;
  const int64_t S = pass.spans.count();
  if (!loss_starts.empty() && static_cast<int64_t>(loss_starts.size()) != S)
    fail("internal: ", loss_starts.size(), " loss starts for ", S, " sequences");
  auto first_target = [&](int64_t s) { return loss_starts.empty() ? int64_t{1} : std::max<int64_t>(1, loss_starts[s]); };
  StepLosses losses = pass.routing;
  mask.assign(pass.log_probs.size(), 0.0f);
  double sum = 0.0;
  for (int64_t s = 0; s < S; ++s)
    for (int64_t t = first_target(s) - 1; t + 1 < pass.spans.length(s); ++t) {  // row t predicts token t+1
      mask[pass.spans.begin(s) + t] = 1.0f;
      sum -= pass.log_probs[pass.spans.begin(s) + t];
      ++losses.ce_tokens;
    }
  losses.ce = losses.ce_tokens > 0 ? sum / static_cast<double>(losses.ce_tokens) : 0.0;
  mtp_mask.assign(pass.mtp_log_probs.size(), 0.0f);
  if (pass.mtp) {
    double mtp_sum = 0.0;
    for (int64_t s = 0; s < S; ++s)
      for (int64_t i = std::max<int64_t>(0, first_target(s) - 2); i + 2 < pass.spans.length(s); ++i) {  // predicts i+2
        mtp_mask[pass.mtp_spans.begin(s) + i] = 1.0f;
        mtp_sum -= pass.mtp_log_probs[pass.mtp_spans.begin(s) + i];
        ++losses.mtp_tokens;
      }
    losses.mtp = losses.mtp_tokens > 0 ? mtp_sum / static_cast<double>(losses.mtp_tokens) : 0.0;
  }
  losses.total = losses.ce + options.mtp_weight * losses.mtp + (options.balance_in_loss ? losses.balance : 0.0);
  return losses;
}

StepLosses TrainableModel::forward_backward(const std::vector<std::vector<int32_t>>& sequences,
                                            const LossOptions& options, std::span<const int64_t> loss_starts) {
  forward(sequences, {options.mtp_weight > 0.0, options.balance_alpha});
  std::vector<float> dlogp, dmtp;
  const StepLosses losses = next_token_losses(options, loss_starts, dlogp, dmtp);
  if (losses.ce_tokens == 0) fail("no position in the batch has a target the loss counts");
  for (float& m : dlogp) m *= static_cast<float>(-1.0 / losses.ce_tokens);
  if (losses.mtp_tokens > 0) {
    for (float& m : dmtp) m *= static_cast<float>(-options.mtp_weight / losses.mtp_tokens);
  } else {
    dmtp.clear();
  }
  backward(dlogp, dmtp, options.balance_in_loss ? 1.0 / static_cast<double>(sequences.size()) : 0.0);
  return losses;
}

StepLosses TrainableModel::evaluate(const std::vector<std::vector<int32_t>>& sequences, const LossOptions& options,
                                    std::span<const int64_t> loss_starts) {
  forward(sequences, {options.mtp_weight > 0.0, options.balance_alpha});
  std::vector<float> mask, mtp_mask;
  const StepLosses losses = next_token_losses(options, loss_starts, mask, mtp_mask);
  pass_.reset();
  return losses;
}

}  // namespace frugal
