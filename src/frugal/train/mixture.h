#pragma once
// DeepSeekMoE for training (spec 3.4 and 8), forward and backward: the router
// picks experts (the bias steers the choice only), each routed expert runs on
// the rows routed to it as one matrix product, the shared experts on all rows.
// The selected ids are constants; gradients flow through the combine weights
// into the router weight. The sequence-wise balance loss is computed here too.
#include <cstdint>
#include <optional>
#include <vector>

#include "frugal/model/config.h"
#include "frugal/train/feed_forward.h"
#include "frugal/train/parameters.h"
#include "frugal/train/sequences.h"

namespace frugal {

struct MixtureParams {
  Parameter* router = nullptr;  // mlp.gate.weight [E, D]
  Parameter* bias = nullptr;    // e_score_correction_bias [E], null when the config has none
  std::vector<FeedForwardParams> experts;
  std::optional<FeedForwardParams> shared;
};

// Binds prefix + "gate.weight", "experts.{e}.", "shared_experts." ...
MixtureParams bind_mixture(ParameterStore& store, const Config& config, const std::string& prefix);

struct MixtureTape {
  std::vector<float> input;     // x [N, D]
  std::vector<float> affinity;  // s [N, E]
  std::vector<int32_t> ids;     // [N, K]
  std::vector<float> weights;   // [N, K] combine weights
  std::vector<std::vector<int64_t>> slots;  // per expert: the (row * K + k) routed to it
  std::vector<FeedForwardTape> experts;
  std::vector<std::vector<float>> expert_out;  // per expert: its output rows, unweighted
  FeedForwardTape shared;
  std::vector<std::vector<float>> balance_f;  // per sequence: f_i of the balance loss [E]
  std::vector<int64_t> load;                  // tokens routed to each expert [E]
};

// out [N, D] = MoE(x). Returns this layer's balance loss summed over the
// sequences (alpha * sum_i f_i P_i each; the caller averages).
double mixture_forward(const Config& config, const MixtureParams& p, const float* x, const SequenceSpans& spans,
                       double balance_alpha, float* out, MixtureTape& tape);

// dx [N, D] (overwritten) from dy; accumulates weight gradients.
// `balance_grad_scale` multiplies the gradient of each sequence's balance
// term (0 when the balance loss is not part of the trained loss).
void mixture_backward(const Config& config, const MixtureParams& p, const MixtureTape& tape,
                      const SequenceSpans& spans, double balance_alpha, double balance_grad_scale,
                      const float* dy, float* dx);

}  // namespace frugal
