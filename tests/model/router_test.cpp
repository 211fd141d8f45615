// Expert selection on hand-computed cases: every topk_method and scoring
// function, the bias used only for choosing, -inf masking of dropped groups,
// normalisation before scaling.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/model/router.h"

namespace frugal {
namespace {

Config router_config(TopkMethod method, ScoringFunc scoring, int experts, int k, int groups, int keep) {
  Config c;
  c.n_routed_experts = experts;
  c.num_experts_per_tok = k;
  c.n_group = groups;
  c.topk_group = keep;
  c.topk_method = method;
  c.scoring_func = scoring;
  return c;
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

TEST(RouterTest, GreedySoftmaxTakesTheLargestAffinities) {
  Config c = router_config(TopkMethod::Greedy, ScoringFunc::Softmax, 4, 2, 1, 1);
  const float logits[4] = {0.0f, 2.0f, 1.0f, -1.0f};
  int32_t ids[2];
  float weights[2];
  select_experts(c, logits, nullptr, ids, weights);
  const double sum = 1 + std::exp(2.0) + std::exp(1.0) + std::exp(-1.0);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 2);
  EXPECT_NEAR(weights[0], std::exp(2.0) / sum, 1e-7);
  EXPECT_NEAR(weights[1], std::exp(1.0) / sum, 1e-7);
}

TEST(RouterTest, BiasChoosesButAffinitiesWeigh) {
  Config c = router_config(TopkMethod::NoauxTc, ScoringFunc::Sigmoid, 4, 1, 1, 1);
  c.routed_scaling_factor = 2.5;
  const float logits[4] = {1.0f, 0.5f, 0.0f, -0.5f};
  const float bias[4] = {0.0f, 0.0f, 0.0f, 0.9f};  // lifts expert 3 above expert 0
  int32_t id;
  float weight;
  select_experts(c, logits, bias, &id, &weight);
  EXPECT_EQ(id, 3);
  EXPECT_NEAR(weight, sigmoid(-0.5) * 2.5, 1e-6);  // no bias in the weight
}

TEST(RouterTest, NormalisesOverSelectedThenScales) {
  Config c = router_config(TopkMethod::NoauxTc, ScoringFunc::Sigmoid, 4, 2, 1, 1);
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5;
  const float logits[4] = {2.0f, 1.0f, 0.0f, -1.0f};
  const float bias[4] = {};
  int32_t ids[2];
  float weights[2];
  select_experts(c, logits, bias, ids, weights);
  const double a = sigmoid(2.0), b = sigmoid(1.0);
  EXPECT_NEAR(weights[0], a / (a + b) * 2.5, 1e-6);
  EXPECT_NEAR(weights[1], b / (a + b) * 2.5, 1e-6);
  EXPECT_NEAR(weights[0] + weights[1], 2.5, 1e-6);
}

TEST(RouterTest, GroupLimitedGreedyScoresGroupsByTheirMax) {
  // Groups {0,1}, {2,3}, {4,5}; keep 1. Group max: 0.30, 0.32, 0.28 -> group 1
  // wins although group 0 holds the two next-best experts overall.
  Config c = router_config(TopkMethod::GroupLimitedGreedy, ScoringFunc::Softmax, 6, 2, 3, 1);
  const std::vector<double> p = {0.30, 0.29, 0.32, 0.01, 0.28, 0.28};  // sums to 1.48; use logs
  float logits[6];
  for (int i = 0; i < 6; ++i) logits[i] = static_cast<float>(std::log(p[i]));
  int32_t ids[2];
  float weights[2];
  select_experts(c, logits, nullptr, ids, weights);
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(ids[1], 3);
  EXPECT_NEAR(weights[1], 0.01 / 1.48, 1e-6);
}

TEST(RouterTest, NoauxTcScoresGroupsByTheSumOfTheirTopTwo) {
  // Groups {0,1,2}, {3,4,5}; keep 1. Group 0 has the single best score but
  // group 1 the best top-two sum (V3 rule; V2's max rule would pick group 0).
  Config c = router_config(TopkMethod::NoauxTc, ScoringFunc::Sigmoid, 6, 2, 2, 1);
  const float logits[6] = {3.0f, -3.0f, -3.0f, 1.5f, 1.5f, -3.0f};
  const float bias[6] = {};
  int32_t ids[2];
  float weights[2];
  select_experts(c, logits, bias, ids, weights);
  std::vector<int32_t> chosen(ids, ids + 2);
  std::sort(chosen.begin(), chosen.end());
  EXPECT_EQ(chosen, (std::vector<int32_t>{3, 4}));
}

TEST(RouterTest, DroppedGroupsAreMinusInfinityNotZero) {
  // With negative biases, the kept group's candidates score below 0; a port
  // that zero-fills dropped groups would pick from a dropped group.
  Config c = router_config(TopkMethod::NoauxTc, ScoringFunc::Sigmoid, 4, 2, 2, 1);
  const float logits[4] = {0.0f, 0.0f, -4.0f, -4.0f};
  const float bias[4] = {-1.0f, -1.0f, -0.2f, -0.2f};
  // selection scores: 0.5-1 = -0.5 (group 0), 0.018-0.2 = -0.18 (group 1): keep group 1
  int32_t ids[2];
  float weights[2];
  select_experts(c, logits, bias, ids, weights);
  std::vector<int32_t> chosen(ids, ids + 2);
  std::sort(chosen.begin(), chosen.end());
  EXPECT_EQ(chosen, (std::vector<int32_t>{2, 3}));
}

TEST(RouterTest, RouteTokensHandlesEveryRow) {
  Config c = router_config(TopkMethod::Greedy, ScoringFunc::Softmax, 3, 1, 1, 1);
  const float logits[6] = {1, 0, 0, 0, 0, 1};
  const Routing routing = route_tokens(c, logits, 2, nullptr);
  EXPECT_EQ(routing.ids, (std::vector<int32_t>{0, 2}));
}

}  // namespace
}  // namespace frugal
