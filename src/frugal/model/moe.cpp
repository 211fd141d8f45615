#include "frugal/model/moe.h"

#include <algorithm>

#include "frugal/core/thread_pool.h"
#include "frugal/kernels/linear.h"
#include "frugal/kernels/ops.h"

namespace frugal {
namespace {

// Below this many multiply-adds per expert, experts are spread over the
// threads instead of splitting each expert's rows.
constexpr std::size_t kExpertParallelWork = 512 * 1024;

}  // namespace

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

  std::vector<int64_t> used;
  std::size_t most_tokens = 0;
  for (int64_t e = 0; e < E; ++e) {
    if (assigned[e].empty()) continue;
    used.push_back(e);
    most_tokens = std::max(most_tokens, assigned[e].size());
  }
  // Each expert's output, summed into `out` afterwards in expert order, so
  // the result does not depend on how the experts were spread over threads.
  std::vector<std::vector<float>> expert_outs(used.size());
  auto run_experts = [&](std::size_t begin, std::size_t end) {
    std::vector<float> gathered;
    for (std::size_t j = begin; j < end; ++j) {
      const auto& tokens = assigned[used[j]];
      const auto m = static_cast<int64_t>(tokens.size());
      gathered.resize(static_cast<std::size_t>(m * D));
      expert_outs[j].resize(gathered.size());
      for (int64_t i = 0; i < m; ++i) std::copy_n(x + tokens[i].first * D, D, gathered.data() + i * D);
      swiglu_forward(weights.experts[used[j]], gathered.data(), m, expert_outs[j].data());
    }
  };
  // Small experts (decode batches of small models) run one per thread: each
  // expert's products alone are too short to split. Large ones split their
  // rows over the threads inside swiglu_forward.
  const std::size_t expert_work = most_tokens * 3 * static_cast<std::size_t>(D * config.moe_intermediate_size);
  if (expert_work < kExpertParallelWork) {
    ThreadPool::global().parallel_for(used.size(), expert_work, run_experts);
  } else {
    run_experts(0, used.size());
  }
  for (std::size_t j = 0; j < used.size(); ++j) {
    const auto& tokens = assigned[used[j]];
    for (std::size_t i = 0; i < tokens.size(); ++i)
      axpy(tokens[i].second, expert_outs[j].data() + i * D, out + tokens[i].first * D, D);
  }
  if (routing_out != nullptr) *routing_out = routing;
}

}  // namespace frugal
