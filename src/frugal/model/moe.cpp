#include "frugal/model/moe.h"

#include <algorithm>

#include "frugal/kernels/linear.h"
#include "frugal/kernels/ops.h"

namespace frugal {

void moe_forward(const Config& config, const MoeWeights& weights, const float* x, int64_t n,
                 float* out, Routing* routing_out) {
  const int64_t D = config.hidden_size, E = config.n_routed_experts;
  std::vector<float> logits(static_cast<std::size_t>(n * E));
  linear(x, n, weights.router, logits.data());
  const Routing routing = route_tokens(
      config, logits.data(), n,
      weights.correction_bias.empty() ? nullptr : weights.correction_bias.data());

  if (weights.shared) {
    swiglu_forward(*weights.shared, x, n, out);
  } else {
    std::fill_n(out, n * D, 0.0f);
  }

  // Group the (token, weight) pairs by expert.
  std::vector<std::vector<std::pair<int64_t, float>>> assigned(static_cast<std::size_t>(E));
  for (int64_t t = 0; t < n; ++t)
    for (int k = 0; k < routing.k; ++k)
      assigned[routing.ids[t * routing.k + k]].emplace_back(t, routing.weights[t * routing.k + k]);

  std::vector<float> gathered, expert_out;
  for (int64_t e = 0; e < E; ++e) {
    const auto& tokens = assigned[e];
    if (tokens.empty()) continue;
    const auto m = static_cast<int64_t>(tokens.size());
    gathered.resize(static_cast<std::size_t>(m * D));
    expert_out.resize(gathered.size());
    for (int64_t i = 0; i < m; ++i) std::copy_n(x + tokens[i].first * D, D, gathered.data() + i * D);
    swiglu_forward(weights.experts[e], gathered.data(), m, expert_out.data());
    for (int64_t i = 0; i < m; ++i)
      axpy(tokens[i].second, expert_out.data() + i * D, out + tokens[i].first * D, D);
  }
  if (routing_out != nullptr) *routing_out = routing;
}

}  // namespace frugal
