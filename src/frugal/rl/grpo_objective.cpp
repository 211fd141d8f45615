#include "frugal/rl/grpo_objective.h"

#include <algorithm>
#include <cmath>

#include "frugal/core/error.h"

namespace frugal::rl {

std::vector<double> group_advantages(std::span<const double> rewards, int group_size, bool scale_by_std,
                                     double eps) {
  if (group_size < 1 || rewards.size() % static_cast<std::size_t>(group_size) != 0)
    fail("internal: ", rewards.size(), " rewards do not make groups of ", group_size);
  std::vector<double> advantages(rewards.size());
  for (std::size_t g = 0; g < rewards.size(); g += static_cast<std::size_t>(group_size)) {
    double mean = 0.0;
    for (int i = 0; i < group_size; ++i) mean += rewards[g + i];
    mean /= group_size;
    double squares = 0.0;
    for (int i = 0; i < group_size; ++i) squares += (rewards[g + i] - mean) * (rewards[g + i] - mean);
    const double std_dev = group_size > 1 ? std::sqrt(squares / (group_size - 1)) : 0.0;
    const bool all_equal = std::all_of(rewards.begin() + g, rewards.begin() + g + group_size,
                                       [&](double r) { return r == rewards[g]; });
    for (int i = 0; i < group_size; ++i) {
      const double centred = all_equal ? 0.0 : rewards[g + i] - mean;  // no signal, whatever eps is
      advantages[g + i] = scale_by_std && !all_equal ? centred / (std_dev + eps) : centred;
    }
  }
  return advantages;
}

LossAggregation parse_loss_aggregation(const std::string& name) {
  if (name == "sequence") return LossAggregation::SequenceMean;
  if (name == "token") return LossAggregation::TokenMean;
  if (name == "constant") return LossAggregation::Constant;
  fail("unknown loss aggregation \"", name, "\"; known: sequence, token, constant");
}

std::string to_string(LossAggregation aggregation) {
  switch (aggregation) {
    case LossAggregation::SequenceMean: return "sequence";
    case LossAggregation::TokenMean: return "token";
    case LossAggregation::Constant: return "constant";
  }
  return "?";
}

TokenTerm grpo_token_term(double logp, double logp_old, double logp_ref, double advantage, const ClipRange& clip,
                          double beta) {
  TokenTerm term;
  const double ratio = std::exp(logp - logp_old);
  const double clipped_ratio = std::clamp(ratio, 1.0 - clip.low, 1.0 + clip.high);
  const double unclipped = ratio * advantage, clipped = clipped_ratio * advantage;
  // min() picks the clipped branch exactly when clipping lowers the objective:
  // A > 0 with r above the ceiling, or A < 0 with r below the floor.
  term.clipped = clipped < unclipped;
  term.loss = -std::min(unclipped, clipped);
  term.dloss_dlogp = term.clipped ? 0.0 : -unclipped;  // d(r A)/dlogp = r A
  if (beta != 0.0) {
    const double log_ratio = logp_ref - logp;
    term.k3 = std::exp(log_ratio) - log_ratio - 1.0;
    term.loss += beta * term.k3;
    term.dloss_dlogp += beta * (1.0 - std::exp(log_ratio));
  }
  return term;
}

std::vector<double> aggregation_weights(std::span<const int64_t> lengths, LossAggregation aggregation,
                                        int64_t constant_length) {
  const double sequences = static_cast<double>(lengths.size());
  int64_t total = 0;
  for (int64_t n : lengths) total += n;
  std::vector<double> weights(lengths.size(), 0.0);
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] == 0) continue;
    switch (aggregation) {
      case LossAggregation::SequenceMean: weights[i] = 1.0 / (sequences * static_cast<double>(lengths[i])); break;
      case LossAggregation::TokenMean: weights[i] = 1.0 / static_cast<double>(total); break;
      case LossAggregation::Constant:
        if (constant_length <= 0) fail("the constant loss normaliser must be positive, got ", constant_length);
        weights[i] = 1.0 / (sequences * static_cast<double>(constant_length));
        break;
    }
  }
  return weights;
}

}  // namespace frugal::rl
