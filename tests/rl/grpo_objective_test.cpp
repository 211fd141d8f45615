// The GRPO maths against hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/rl/grpo_objective.h"
#include "support/test_support.h"

namespace frugal::rl {
namespace {

TEST(GroupAdvantages, NormaliseEachGroupBySampleStd) {
  const std::vector<double> rewards = {1.0, 0.0, 0.0, 1.0, 0.3, 0.3};
  const std::vector<double> a = group_advantages(rewards, 2, true, 0.0);
  const double expected = 0.5 / std::sqrt(0.5);  // mean 0.5, sample std sqrt((0.25 + 0.25) / 1)
  EXPECT_NEAR(a[0], expected, 1e-12);
  EXPECT_NEAR(a[1], -expected, 1e-12);
  EXPECT_NEAR(a[2], -expected, 1e-12);
  EXPECT_NEAR(a[3], expected, 1e-12);
  EXPECT_EQ(a[4], 0.0) << "equal rewards give zero advantage";
  EXPECT_EQ(a[5], 0.0);
}

TEST(GroupAdvantages, WithoutStdOnlyCentres) {
  const std::vector<double> a = group_advantages(std::vector<double>{1.0, 0.0, 0.0, 0.0}, 4, false);
  EXPECT_DOUBLE_EQ(a[0], 0.75);
  EXPECT_DOUBLE_EQ(a[1], -0.25);
  EXPECT_TRUE(test::throws_error_mentioning([] { group_advantages(std::vector<double>{1, 2, 3}, 2, true); },
                                            {"groups of 2"}));
}

TEST(GrpoTokenTerm, OnPolicyIsThePolicyGradient) {
  const TokenTerm t = grpo_token_term(-1.3, -1.3, -1.3, 2.0, {}, 0.0);
  EXPECT_DOUBLE_EQ(t.loss, -2.0);
  EXPECT_DOUBLE_EQ(t.dloss_dlogp, -2.0);
  EXPECT_FALSE(t.clipped);
}

TEST(GrpoTokenTerm, ClippingEngagesOnBothSides) {
  const ClipRange clip{0.2, 0.2};
  // Positive advantage, ratio 1.5 above the ceiling 1.2: clipped, no gradient.
  TokenTerm t = grpo_token_term(std::log(1.5), 0.0, 0.0, 1.0, clip, 0.0);
  EXPECT_TRUE(t.clipped);
  EXPECT_NEAR(t.loss, -1.2, 1e-12);
  EXPECT_EQ(t.dloss_dlogp, 0.0);
  // Negative advantage, ratio 0.5 below the floor 0.8: clipped, no gradient.
  t = grpo_token_term(std::log(0.5), 0.0, 0.0, -1.0, clip, 0.0);
  EXPECT_TRUE(t.clipped);
  EXPECT_NEAR(t.loss, 0.8, 1e-12);
  EXPECT_EQ(t.dloss_dlogp, 0.0);
  // The other two cases keep the unclipped term: the ratio is pulled back.
  t = grpo_token_term(std::log(1.5), 0.0, 0.0, -1.0, clip, 0.0);
  EXPECT_FALSE(t.clipped);
  EXPECT_NEAR(t.loss, 1.5, 1e-12);
  EXPECT_NEAR(t.dloss_dlogp, 1.5, 1e-12);
  t = grpo_token_term(std::log(0.5), 0.0, 0.0, 1.0, clip, 0.0);
  EXPECT_FALSE(t.clipped);
  EXPECT_NEAR(t.dloss_dlogp, -0.5, 1e-12);
  // Clip-higher: a separate ceiling.
  EXPECT_FALSE(grpo_token_term(std::log(1.25), 0.0, 0.0, 1.0, {0.2, 0.28}, 0.0).clipped);
  EXPECT_TRUE(grpo_token_term(std::log(1.25), 0.0, 0.0, 1.0, {0.2, 0.2}, 0.0).clipped);
}

TEST(GrpoTokenTerm, K3EstimateAndItsGradient) {
  // p = 0.5, p_ref = 0.25: k3 = p_ref/p - log(p_ref/p) - 1 = 0.5 + ln 2 - 1.
  const double logp = std::log(0.5), ref = std::log(0.25), beta = 0.04;
  const TokenTerm t = grpo_token_term(logp, logp, ref, 0.0, {}, beta);
  EXPECT_NEAR(t.k3, 0.5 + std::log(2.0) - 1.0, 1e-12);
  EXPECT_NEAR(t.loss, beta * t.k3, 1e-12);
  EXPECT_NEAR(t.dloss_dlogp, beta * (1.0 - 0.5), 1e-12);  // d k3 / d logp = 1 - p_ref / p
  EXPECT_EQ(grpo_token_term(ref, ref, ref, 0.0, {}, 1.0).k3, 0.0) << "k3 is 0 when the policies agree";
  // The whole derivative against a central difference, away from the clip edges.
  const double h = 1e-6, old = logp - 0.05, advantage = -0.7;
  const double numeric = (grpo_token_term(logp + h, old, ref, advantage, {}, beta).loss -
                          grpo_token_term(logp - h, old, ref, advantage, {}, beta).loss) / (2 * h);
  EXPECT_NEAR(grpo_token_term(logp, old, ref, advantage, {}, beta).dloss_dlogp, numeric, 1e-7);
}

TEST(AggregationWeights, EachRule) {
  const std::vector<int64_t> lengths = {2, 4, 0};
  const std::vector<double> sequence = aggregation_weights(lengths, LossAggregation::SequenceMean, 0);
  EXPECT_DOUBLE_EQ(sequence[0], 1.0 / (3 * 2));
  EXPECT_DOUBLE_EQ(sequence[1], 1.0 / (3 * 4));
  EXPECT_EQ(sequence[2], 0.0);
  const std::vector<double> token = aggregation_weights(lengths, LossAggregation::TokenMean, 0);
  EXPECT_DOUBLE_EQ(token[0], 1.0 / 6);
  EXPECT_DOUBLE_EQ(token[1], 1.0 / 6);
  const std::vector<double> constant = aggregation_weights(lengths, LossAggregation::Constant, 8);
  EXPECT_DOUBLE_EQ(constant[0], 1.0 / (3 * 8));
  EXPECT_DOUBLE_EQ(constant[1], 1.0 / (3 * 8));
  EXPECT_EQ(parse_loss_aggregation("token"), LossAggregation::TokenMean);
  EXPECT_TRUE(test::throws_error_mentioning([] { parse_loss_aggregation("mean"); }, {"mean", "sequence"}));
}

}  // namespace
}  // namespace frugal::rl
