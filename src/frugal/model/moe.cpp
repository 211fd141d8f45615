#include "frugal/model/moe.h"

#include <algorithm>
#include <atomic>
#include <numeric>

#include "frugal/core/thread_pool.h"
#include "frugal/kernels/linear.h"
#include "frugal/kernels/ops.h"
#include "frugal/model/streamed_experts.h"

namespace frugal {
namespace {

// Below this many multiply-adds per expert, experts are spread over the
// threads instead of splitting each expert's rows.
constexpr std::size_t kExpertParallelWork = 512 * 1024;

// Up to this many tokens (decode, decode batches), large experts go through
// streamed_experts_forward: their weights are read once per token group
// anyway, so splitting all experts' rows as one pays off.
constexpr int64_t kStreamedMaxTokens = 8;

using TokenWeights = std::vector<std::pair<int64_t, float>>;

}  // namespace

void moe_forward(const Config& config, const MoeWeights& weights, const float* x, int64_t n,
                 float* out, Routing* routing_out) {
  const int64_t D = config.hidden_size, E = config.n_routed_experts;
  std::vector<float> logits(static_cast<std::size_t>(n * E));
  linear(x, n, weights.router, logits.data());
  const Routing routing = route_tokens(
      config, logits.data(), n,
      weights.correction_bias.empty() ? nullptr : weights.correction_bias.data());

  // Group the (token, weight) pairs by expert.
  std::vector<TokenWeights> assigned(static_cast<std::size_t>(E));
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

  // x quantised once for the shared and every routed expert's gate and up.
  std::vector<const WeightMatrix*> readers;
  if (weights.shared) readers.insert(readers.end(), {&weights.shared->gate, &weights.shared->up});
  for (int64_t e : used) readers.insert(readers.end(), {&weights.experts[e].gate, &weights.experts[e].up});
  // Reused: prefill's run to megabytes. A plain reference, so that lambdas
  // running on the pool's workers see this thread's inputs, not their own.
  thread_local LinearInputs this_threads_inputs;
  LinearInputs& all = this_threads_inputs;
  prepare_linear_inputs(x, n, D, readers, all);
  // An expert's inputs: its tokens' rows of `all`, or `all` itself when it has every token.
  std::vector<LinearInputs> gathered(used.size());
  auto expert_inputs = [&](std::size_t j) -> const LinearInputs& {
    const TokenWeights& tokens = assigned[used[j]];
    if (static_cast<int64_t>(tokens.size()) == n) return all;  // tokens are in order, one per token
    std::vector<int64_t> rows(tokens.size());
    for (std::size_t i = 0; i < tokens.size(); ++i) rows[i] = tokens[i].first;
    gather_linear_inputs(all, rows, gathered[j]);
    return gathered[j];
  };

  const std::size_t expert_work = most_tokens * 3 * static_cast<std::size_t>(D * config.moe_intermediate_size);
  if (n <= kStreamedMaxTokens && expert_work >= kExpertParallelWork) {
    TokenWeights every_token(static_cast<std::size_t>(n));
    for (int64_t t = 0; t < n; ++t) every_token[t] = {t, 1.0f};
    std::vector<ExpertJob> jobs;
    if (weights.shared) jobs.push_back({&*weights.shared, &all, &every_token});
    for (std::size_t j = 0; j < used.size(); ++j)
      jobs.push_back({&weights.experts[used[j]], &expert_inputs(j), &assigned[used[j]]});
    streamed_experts_forward(jobs, n, D, out);
  } else {
    if (weights.shared) {
      swiglu_forward(*weights.shared, all, out);
    } else {
      std::fill_n(out, n * D, 0.0f);
    }
    // Each expert's output, summed into `out` afterwards in expert order, so
    // the result does not depend on how the experts were spread over threads.
    std::vector<std::vector<float>> expert_outs(used.size());
    auto run_experts = [&](std::size_t begin, std::size_t end) {
      for (std::size_t j = begin; j < end; ++j) {
        const LinearInputs& in = expert_inputs(j);
        expert_outs[j].resize(static_cast<std::size_t>(in.n * D));
        swiglu_forward(weights.experts[used[j]], in, expert_outs[j].data());
      }
    };
    ThreadPool& pool = ThreadPool::global();
    const auto threads = static_cast<std::size_t>(pool.num_threads());
    if (expert_work < kExpertParallelWork) {
      // Small experts (decode batches of small models) run one per thread:
      // each expert's products alone are too short to split.
      pool.parallel_for_balanced(used.size(), expert_work, run_experts);
    } else if (most_tokens * threads <= static_cast<std::size_t>(n * routing.k)) {
      // Prefill: each expert runs whole on one thread, the threads claiming
      // experts largest first. Splitting every expert's rows over the
      // threads cost a hand-over per product, left the gathers, SwiGLU and
      // the down product's input quantisation to one thread, and cut the
      // rows into pieces too short to fetch the next ones while computing
      // (78 -> 74 ms per layer at 512 tokens, docs/performance.md).
      std::vector<std::size_t> largest_first(used.size());
      std::iota(largest_first.begin(), largest_first.end(), std::size_t{0});
      std::stable_sort(largest_first.begin(), largest_first.end(), [&](std::size_t a, std::size_t b) {
        return assigned[used[a]].size() > assigned[used[b]].size();
      });
      std::atomic<std::size_t> next{0};
      pool.parallel_for(threads, [&](std::size_t, std::size_t) {
        for (std::size_t i = next++; i < largest_first.size(); i = next++)
          run_experts(largest_first[i], largest_first[i] + 1);
      });
    } else {
      // One expert holds more than a thread's share of the tokens: its rows
      // are split over the threads inside swiglu_forward.
      run_experts(0, used.size());
    }
    // Each token's rows from its experts, in expert order, summed into its
    // output row over the threads.
    struct Contribution {
      const float* row;
      float weight;
    };
    std::vector<Contribution> contributions(static_cast<std::size_t>(n * routing.k));
    std::vector<int> count(static_cast<std::size_t>(n), 0);
    for (std::size_t j = 0; j < used.size(); ++j) {
      const auto& tokens = assigned[used[j]];
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        const int64_t t = tokens[i].first;
        contributions[t * routing.k + count[t]++] = {expert_outs[j].data() + i * D, tokens[i].second};
      }
    }
    pool.parallel_for(static_cast<std::size_t>(n), static_cast<std::size_t>(routing.k * D),
                      [&](std::size_t begin, std::size_t end) {
                        for (auto t = static_cast<int64_t>(begin); t < static_cast<int64_t>(end); ++t)
                          for (int c = 0; c < count[t]; ++c)
                            axpy(contributions[t * routing.k + c].weight, contributions[t * routing.k + c].row,
                                 out + t * D, D);
                      });
  }
  if (routing_out != nullptr) *routing_out = routing;
}

}  // namespace frugal
