// The path policy-gradient methods use: forward() log-probabilities, any
// dL/dlog p into backward(). One small gradient step on L = -sum_i A_i
// mean_t log p must raise the log-probability of the completion with a
// positive advantage and lower the other's.
#include <gtest/gtest.h>

#include "frugal/train/trainable_model.h"
#include "support/golden.h"

namespace frugal {
namespace {

double mean_completion_log_prob(std::span<const float> log_probs, const SequenceSpans& spans, int64_t s,
                                int64_t start) {
  double sum = 0.0;
  for (int64_t t = start - 1; t + 1 < spans.length(s); ++t) sum += log_probs[spans.begin(s) + t];
  return sum / static_cast<double>(spans.length(s) - start);
}

TEST(PolicyGradient, AStepRaisesTheRewardedCompletion) {
  ParameterStore store = ParameterStore::load(test::golden_dir("v3-tiny") + "/checkpoint");
  TrainableModel model(store);
  const std::vector<std::vector<int32_t>> sequences = {{3, 14, 15, 92, 65, 35, 89}, {3, 14, 15, 79, 32, 38, 46}};
  const int64_t start = 3;  // the shared prompt is 3 tokens
  const std::vector<double> advantage = {1.0, -1.0};

  std::vector<double> before(2);
  std::span<const float> log_probs = model.forward(sequences, {false, 0.0});
  std::vector<float> coefficients(log_probs.size(), 0.0f);
  for (int64_t s = 0; s < 2; ++s) {
    before[s] = mean_completion_log_prob(log_probs, model.spans(), s, start);
    const int64_t n = model.spans().length(s) - start;
    for (int64_t t = start - 1; t + 1 < model.spans().length(s); ++t)
      coefficients[model.spans().begin(s) + t] = static_cast<float>(-advantage[s] / n);
  }
  store.zero_grad();
  model.backward(coefficients, {}, 0.0);
  for (Parameter& p : store.all())
    for (std::size_t j = 0; j < p.grad.size(); ++j) p.value[j] -= 0.05f * p.grad[j];

  log_probs = model.forward(sequences, {false, 0.0});
  EXPECT_GT(mean_completion_log_prob(log_probs, model.spans(), 0, start), before[0] + 1e-3);
  EXPECT_LT(mean_completion_log_prob(log_probs, model.spans(), 1, start), before[1] - 1e-3);
}

}  // namespace
}  // namespace frugal
