#pragma once
// The GRPO objective (DeepSeekMath / DeepSeek-R1) as pure functions:
// group-normalised advantages, the clipped importance ratio, the k3 estimate
// of KL(policy || reference), and the three ways of aggregating per-token
// losses. The trainer turns them into dL/dlog p per completion token, which
// is all the model's backward pass needs.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace frugal::rl {

// A_i = (r_i - mean(group)) / (std(group) + eps), per group of `group_size`
// consecutive rewards; std is the sample standard deviation (n - 1), as in
// the reference implementations. With scale_by_std false ("Dr. GRPO"):
// A_i = r_i - mean. Equal rewards in a group give 0 advantages.
std::vector<double> group_advantages(std::span<const double> rewards, int group_size, bool scale_by_std,
                                     double eps = 1e-4);

enum class LossAggregation {
  SequenceMean,  // mean over sequences of each sequence's token mean (GRPO paper)
  TokenMean,     // sum over all tokens / number of tokens (DAPO)
  Constant       // sum over all tokens / (sequences x a constant length) (Dr. GRPO)
};
LossAggregation parse_loss_aggregation(const std::string& name);  // "sequence", "token", "constant"
std::string to_string(LossAggregation aggregation);

struct ClipRange {
  double low = 0.2;   // ratio floor 1 - low
  double high = 0.2;  // ratio ceiling 1 + high (DAPO raises it: "clip-higher")
};

// One completion token's loss  -min(r A, clip(r, 1-low, 1+high) A) + beta k3
// with r = exp(logp - logp_old) and k3 = exp(ref - logp) - (ref - logp) - 1,
// and its derivative with respect to logp.
struct TokenTerm {
  double loss = 0.0;
  double dloss_dlogp = 0.0;
  bool clipped = false;  // the clipped branch is active (its gradient is 0)
  double k3 = 0.0;
};
TokenTerm grpo_token_term(double logp, double logp_old, double logp_ref, double advantage, const ClipRange& clip,
                          double beta);

// The weight of each token of sequence i in the aggregated loss, for
// completion lengths `lengths` (tokens counted by the loss):
// SequenceMean 1 / (n_seq |o_i|), TokenMean 1 / sum |o|, Constant 1 / (n_seq L).
std::vector<double> aggregation_weights(std::span<const int64_t> lengths, LossAggregation aggregation,
                                        int64_t constant_length);

}  // namespace frugal::rl
