#include "frugal/model/router.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace frugal {
namespace {

// Indices of the `count` largest values, largest first; ties keep the lower index.
std::vector<int> top_indices(const std::vector<double>& values, int count) {
  std::vector<int> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + count, order.end(),
                    [&](int a, int b) { return values[a] > values[b] || (values[a] == values[b] && a < b); });
  order.resize(static_cast<std::size_t>(count));
  return order;
}

}  // namespace

void select_experts(const Config& config, const float* logits, const float* bias, int32_t* ids,
                    float* weights) {
  const int E = config.n_routed_experts, K = config.num_experts_per_tok;
  constexpr double kMasked = -std::numeric_limits<double>::infinity();

  // Affinities s, in double: router decisions are precision-sensitive.
  std::vector<double> affinity(static_cast<std::size_t>(E));
  if (config.scoring_func == ScoringFunc::Softmax) {
    const double max_logit = *std::max_element(logits, logits + E);
    double sum = 0.0;
    for (int e = 0; e < E; ++e) sum += affinity[e] = std::exp(static_cast<double>(logits[e]) - max_logit);
    for (double& a : affinity) a /= sum;
  } else {
    for (int e = 0; e < E; ++e) affinity[e] = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[e])));
  }

  // Selection scores c: the bias steers the choice but never the weights.
  std::vector<double> choice = affinity;
  if (config.topk_method == TopkMethod::NoauxTc && bias != nullptr)
    for (int e = 0; e < E; ++e) choice[e] += bias[e];

  if (config.topk_method != TopkMethod::Greedy && config.n_group > 1) {
    const int G = config.n_group, group_size = E / G;
    std::vector<double> group_score(static_cast<std::size_t>(G));
    for (int g = 0; g < G; ++g) {
      std::vector<double> members(choice.begin() + g * group_size,
                                  choice.begin() + (g + 1) * group_size);
      if (config.topk_method == TopkMethod::GroupLimitedGreedy) {
        group_score[g] = *std::max_element(members.begin(), members.end());
      } else {  // noaux_tc: sum of the two best in the group
        std::partial_sort(members.begin(), members.begin() + 2, members.end(), std::greater<>());
        group_score[g] = members[0] + members[1];
      }
    }
    const std::vector<int> kept = top_indices(group_score, config.topk_group);
    for (int g = 0; g < G; ++g) {
      if (std::find(kept.begin(), kept.end(), g) != kept.end()) continue;
      std::fill(choice.begin() + g * group_size, choice.begin() + (g + 1) * group_size, kMasked);
    }
  }

  const std::vector<int> chosen = top_indices(choice, K);
  double sum = 0.0;
  for (int k = 0; k < K; ++k) sum += affinity[chosen[k]];
  const double norm = config.norm_topk_prob ? 1.0 / (sum + 1e-20) : 1.0;
  for (int k = 0; k < K; ++k) {
    ids[k] = chosen[k];
    weights[k] = static_cast<float>(affinity[chosen[k]] * norm * config.routed_scaling_factor);
  }
}

Routing route_tokens(const Config& config, const float* logits, int64_t n, const float* bias) {
  Routing routing;
  routing.k = config.num_experts_per_tok;
  routing.ids.resize(static_cast<std::size_t>(n * routing.k));
  routing.weights.resize(routing.ids.size());
  for (int64_t t = 0; t < n; ++t)
    select_experts(config, logits + t * config.n_routed_experts, bias,
                   routing.ids.data() + t * routing.k, routing.weights.data() + t * routing.k);
  return routing;
}

}  // namespace frugal
