// moe_forward over a prefill's tokens against the same layer run one token
// at a time, on 1 and 2 threads, in float32 and Q8 (interleaved rows): experts
// large enough to run whole on one thread each (claimed largest first), and
// one expert that holds every token (its rows split over the threads). Enough
// tokens that the inputs' quantisation, SwiGLU and the sum of the experts'
// rows also go over the threads.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "frugal/core/thread_pool.h"
#include "frugal/kernels/q8.h"
#include "frugal/model/moe.h"
#include "support/test_support.h"

namespace frugal {
namespace {

constexpr int64_t kD = 256, kWidth = 256, kExperts = 4, kTokens = 128;

WeightMatrix random_weight(const std::string& name, int64_t rows, int64_t cols, uint32_t seed, DType format) {
  WeightMatrix w = make_f32_weight(name, rows, cols, test::normal_values(static_cast<std::size_t>(rows * cols), seed, 0.1f));
  return format == DType::I8 ? to_q8(w) : w;
}

SwiGluWeights random_expert(int64_t width, uint32_t seed, DType format) {
  return {random_weight("gate", width, kD, seed, format), random_weight("up", width, kD, seed + 1, format),
          random_weight("down", kD, width, seed + 2, format)};
}

Config moe_config(int k) {
  Config c;
  c.hidden_size = kD;
  c.moe_intermediate_size = kWidth;
  c.n_routed_experts = kExperts;
  c.num_experts_per_tok = k;
  c.n_shared_experts = 1;
  c.n_group = 1;
  c.topk_group = 1;
  c.topk_method = TopkMethod::Greedy;
  c.scoring_func = ScoringFunc::Softmax;
  return c;
}

MoeWeights random_moe(DType format, bool one_expert_wins) {
  MoeWeights w;
  std::vector<float> router = test::normal_values(static_cast<std::size_t>(kExperts * kD), 3, 0.3f);
  // Inputs have a positive first column: a large weight there routes every token to expert 0.
  if (one_expert_wins) router[0] = 100.0f;
  w.router = make_f32_weight("router", kExperts, kD, std::move(router));
  for (int64_t e = 0; e < kExperts; ++e) w.experts.push_back(random_expert(kWidth, 10 * static_cast<uint32_t>(e + 1), format));
  w.shared = random_expert(kWidth, 100, format);
  return w;
}

void expect_tokens_one_at_a_time(const Config& config, const MoeWeights& weights) {
  std::vector<float> x = test::normal_values(static_cast<std::size_t>(kTokens * kD), 5);
  for (int64_t t = 0; t < kTokens; ++t) x[t * kD] = 1.0f + std::fabs(x[t * kD]);

  ThreadPool::set_global_threads(1);
  std::vector<float> want(kTokens * kD);
  std::vector<int32_t> want_ids;
  for (int64_t t = 0; t < kTokens; ++t) {
    Routing routing;
    moe_forward(config, weights, x.data() + t * kD, 1, want.data() + t * kD, &routing);
    want_ids.insert(want_ids.end(), routing.ids.begin(), routing.ids.end());
  }
  for (int threads : {1, 2}) {
    ThreadPool::set_global_threads(threads);
    std::vector<float> got(kTokens * kD, -7.0f);
    Routing routing;
    moe_forward(config, weights, x.data(), kTokens, got.data(), &routing);
    EXPECT_EQ(routing.ids, want_ids) << "threads " << threads;
    for (int64_t i = 0; i < kTokens * kD; ++i)
      ASSERT_NEAR(got[i], want[i], 1e-5f * (1.0f + std::fabs(want[i]))) << "threads " << threads << " at " << i;
  }
  ThreadPool::set_global_threads(2);
}

class MoeTest : public testing::TestWithParam<DType> {};

TEST_P(MoeTest, PrefillEqualsOneTokenAtATime) {
  const MoeWeights weights = random_moe(GetParam(), false);
  expect_tokens_one_at_a_time(moe_config(2), weights);
}

TEST_P(MoeTest, PrefillWithOneExpertForEveryTokenEqualsOneTokenAtATime) {
  const MoeWeights weights = random_moe(GetParam(), true);
  expect_tokens_one_at_a_time(moe_config(1), weights);
}

INSTANTIATE_TEST_SUITE_P(Formats, MoeTest, testing::Values(DType::F32, DType::I8),
                         [](const testing::TestParamInfo<DType>& info) {
                           return std::string(dtype_name(info.param));
                         });

}  // namespace
}  // namespace frugal
