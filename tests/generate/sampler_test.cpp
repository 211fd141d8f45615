// Next-token sampling: greedy, penalties on hand-computed cases, top-k /
// top-p / min-p supports and frequencies, the exact random stream, the
// pruned nucleus against a full-sort reference, parameter validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/generate/sampler.h"
#include "support/test_support.h"

namespace frugal {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

SamplingParams with_temperature(float temperature, uint64_t seed = 0) {
  SamplingParams p;
  p.temperature = temperature;
  p.seed = seed;
  return p;
}

std::vector<float> logits_from_probs(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// How often each id comes out of `draws` calls on the same logits.
std::map<int32_t, int> histogram(Sampler& sampler, const std::vector<float>& logits, int draws,
                                 const std::vector<int32_t>& context = {}) {
  std::map<int32_t, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sampler.sample(logits, context)];
  return counts;
}

std::set<int32_t> support(const std::map<int32_t, int>& counts) {
  std::set<int32_t> ids;
  for (const auto& [id, n] : counts) ids.insert(id);
  return ids;
}

// |observed - n p| within 4 binomial standard deviations.
void expect_frequency(int observed, int n, double p) {
  const double sigma = std::sqrt(n * p * (1.0 - p));
  EXPECT_NEAR(observed, n * p, 4.0 * sigma) << "expected probability " << p;
}

int32_t greedy(const std::vector<float>& logits, const std::vector<int32_t>& context, SamplingParams params) {
  params.temperature = 0.0f;
  Sampler sampler(params);
  return sampler.sample(logits, context);
}

// Deterministic pseudo-random logits, spread by `scale`.
std::vector<float> random_logits(std::size_t vocab, uint64_t seed, double scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<float> logits(vocab);
  for (float& x : logits) x = static_cast<float>(normal(rng));
  return logits;
}

TEST(SamplerTest, GreedyTakesTheArgmax) {
  EXPECT_EQ(greedy({0.1f, 2.5f, -1.0f, 2.4f}, {}, {}), 1);
  EXPECT_EQ(greedy({-3.0f, -2.0f, -kInf, -2.5f}, {}, {}), 1);
  EXPECT_EQ(greedy({-kInf, -kInf, 0.0f}, {}, {}), 2);
}

TEST(SamplerTest, GreedyTiesGoToTheLowestId) {
  EXPECT_EQ(greedy({1.0f, 3.0f, 3.0f, 0.0f, 3.0f}, {}, {}), 1);
  EXPECT_EQ(greedy({7.0f, 7.0f}, {}, {}), 0);
}

TEST(SamplerTest, TemperatureZeroIgnoresTheSeed) {
  const std::vector<float> logits = {0.0f, 0.1f, 0.05f, 0.099f};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Sampler sampler(with_temperature(0.0f, seed));
    for (int i = 0; i < 10; ++i) EXPECT_EQ(sampler.sample(logits, {}), 1) << "seed " << seed;
  }
}

TEST(SamplerTest, TopKOneEqualsGreedyAtAnyTemperature) {
  for (uint64_t seed = 0; seed < 10; ++seed) {
    std::vector<float> logits = random_logits(200, seed, 1.0);
    logits[150] = logits[40] = 5.0f;  // tie for the maximum: the lower id wins
    for (float temperature : {0.05f, 1.0f, 5.0f, 1000.0f}) {
      SamplingParams p = with_temperature(temperature, seed);
      p.top_k = 1;
      Sampler sampler(p);
      for (int i = 0; i < 20; ++i) EXPECT_EQ(sampler.sample(logits, {}), 40);
    }
  }
}

TEST(SamplerTest, TopKTwoDrawsTheTwoBestInSoftmaxProportion) {
  const std::vector<float> logits = {1.0f, 2.0f, -3.0f, 1.5f, 0.5f, 1.4f};
  for (float temperature : {1.0f, 0.7f}) {
    SamplingParams p = with_temperature(temperature, 42);
    p.top_k = 2;
    Sampler sampler(p);
    const int n = 2000;
    const auto counts = histogram(sampler, logits, n);
    EXPECT_EQ(support(counts), (std::set<int32_t>{1, 3}));
    // softmax of (2.0, 1.5) / T over the two survivors
    const double p1 = 1.0 / (1.0 + std::exp((1.5 - 2.0) / temperature));
    expect_frequency(counts.count(1) ? counts.at(1) : 0, n, p1);
  }
}

// Probabilities 0.5, 0.3, 0.15, 0.05 on ids 1, 3, 0, 2 (shuffled on purpose).
const std::vector<double> kHandProbs = {0.15, 0.5, 0.05, 0.3};

std::map<int32_t, int> hand_case(float top_p, float min_p, int draws = 2000) {
  SamplingParams p = with_temperature(1.0f, 7);
  p.top_p = top_p;
  p.min_p = min_p;
  Sampler sampler(p);
  return histogram(sampler, logits_from_probs(kHandProbs), draws);
}

TEST(SamplerTest, TopPKeepsTheSmallestNucleus) {
  EXPECT_EQ(support(hand_case(0.75f, 0.0f)), (std::set<int32_t>{1, 3}));
  EXPECT_EQ(support(hand_case(0.8f, 0.0f)), (std::set<int32_t>{1, 3}));  // 0.5 + 0.3 reaches 0.8
  EXPECT_EQ(support(hand_case(0.81f, 0.0f)), (std::set<int32_t>{0, 1, 3}));
  EXPECT_EQ(support(hand_case(0.96f, 0.0f)), (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(support(hand_case(0.4f, 0.0f)), (std::set<int32_t>{1}));  // at least the top token
  EXPECT_EQ(support(hand_case(1.0f, 0.0f)), (std::set<int32_t>{0, 1, 2, 3}));
}

TEST(SamplerTest, TopPRenormalisesTheNucleus) {
  const int n = 4000;
  const auto counts = hand_case(0.81f, 0.0f, n);
  expect_frequency(counts.at(1), n, 0.5 / 0.95);
  expect_frequency(counts.at(3), n, 0.3 / 0.95);
  expect_frequency(counts.at(0), n, 0.15 / 0.95);
}

TEST(SamplerTest, MinPDropsTokensBelowAFractionOfTheMax) {
  // p_max = 0.5: thresholds 0.025, 0.1, 0.175, 0.5.
  EXPECT_EQ(support(hand_case(1.0f, 0.05f)), (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(support(hand_case(1.0f, 0.2f)), (std::set<int32_t>{0, 1, 3}));
  EXPECT_EQ(support(hand_case(1.0f, 0.35f)), (std::set<int32_t>{1, 3}));
  EXPECT_EQ(support(hand_case(1.0f, 1.0f)), (std::set<int32_t>{1}));
  // Both filters: the stricter one wins.
  EXPECT_EQ(support(hand_case(0.75f, 0.2f)), (std::set<int32_t>{1, 3}));
  EXPECT_EQ(support(hand_case(0.81f, 0.35f)), (std::set<int32_t>{1, 3}));
  const int n = 4000;
  const auto counts = hand_case(1.0f, 0.2f, n);
  expect_frequency(counts.at(1), n, 0.5 / 0.95);
  expect_frequency(counts.at(0), n, 0.15 / 0.95);
}

TEST(SamplerTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplingParams p;
  p.repetition_penalty = 1.5f;
  // Positive: 2.0 / 1.5 = 1.33 < 1.5.
  EXPECT_EQ(greedy({2.0f, 1.5f, -1.0f}, {}, p), 0);
  EXPECT_EQ(greedy({2.0f, 1.5f, -1.0f}, {0}, p), 1);
  // Negative: -1.0 * 1.5 = -1.5 < -1.2 (dividing would give -0.67 and keep id 0).
  EXPECT_EQ(greedy({-1.0f, -1.2f}, {}, p), 0);
  EXPECT_EQ(greedy({-1.0f, -1.2f}, {0}, p), 1);
  // Once per distinct token: 2.0 / 1.5 = 1.33 > 1.2, but 2.0 / 1.5^3 = 0.59 would lose.
  EXPECT_EQ(greedy({2.0f, 1.2f}, {0, 0, 0}, p), 0);
  // Penalising the runner-up does not change the winner; ids outside the vocab are ignored.
  EXPECT_EQ(greedy({2.0f, 1.5f, -1.0f}, {1, -1, 3, 1000}, p), 0);
}

TEST(SamplerTest, PresencePenaltyIsSubtractedOncePerDistinctToken) {
  SamplingParams p;
  p.presence_penalty = 0.3f;
  EXPECT_EQ(greedy({1.0f, 0.8f}, {0}, p), 1);  // 0.7 < 0.8
  p.presence_penalty = 0.1f;
  EXPECT_EQ(greedy({1.0f, 0.8f}, {0, 0, 0}, p), 0);  // 0.9, not 0.7
  p.presence_penalty = -0.3f;  // negative encourages repeats
  EXPECT_EQ(greedy({0.8f, 1.0f}, {0}, p), 0);
}

TEST(SamplerTest, FrequencyPenaltyScalesWithTheCount) {
  SamplingParams p;
  p.frequency_penalty = 0.1f;
  EXPECT_EQ(greedy({1.0f, 0.8f}, {0}, p), 0);              // 0.9 > 0.8
  EXPECT_EQ(greedy({1.0f, 0.8f}, {0, 5, 0, 0}, p), 1);     // 0.7 < 0.8
  EXPECT_EQ(greedy({1.0f, 0.8f}, {1, 0, 1, 0, 0}, p), 0);  // 0.7 vs 0.6
  EXPECT_EQ(greedy({1.0f, 0.8f}, {0, 0, 0, 0, 1}, p), 1);  // 0.6 vs 0.7
}

TEST(SamplerTest, RepetitionPenaltyComesBeforePresencePenalty) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  p.presence_penalty = 0.1f;
  // 2.0 / 2 - 0.1 = 0.9 < 0.92; the other order would give (2.0 - 0.1) / 2 = 0.95.
  EXPECT_EQ(greedy({2.0f, 0.92f}, {0}, p), 1);
}

TEST(SamplerTest, PenaltiesApplyWhenSampling) {
  // Token 0 dominates until the presence penalty takes it out of reach.
  SamplingParams p = with_temperature(1.0f, 3);
  p.presence_penalty = 100.0f;
  Sampler sampler(p);
  const auto counts = histogram(sampler, {10.0f, 0.0f}, 200, {0});
  EXPECT_EQ(support(counts), (std::set<int32_t>{1}));
}

TEST(SamplerTest, DrawsFollowTheSpecifiedStream) {
  // Two equally likely tokens: id 0 iff u < 0.5, u = (rng() >> 11) * 2^-53.
  for (uint64_t seed : {uint64_t{0}, uint64_t{12345}}) {
    Sampler sampler(with_temperature(1.0f, seed));
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 100; ++i) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      EXPECT_EQ(sampler.sample(std::vector<float>{0.0f, 0.0f}, {}), u < 0.5 ? 0 : 1) << "draw " << i;
    }
  }
  // Probabilities 0.2, 0.7, 0.1 on ids 0, 1, 2: walked as 1, 0, 2.
  const std::vector<float> logits = logits_from_probs({0.2, 0.7, 0.1});
  double e[3], sum = 0.0;
  for (int i = 0; i < 3; ++i) sum += e[i] = std::exp(static_cast<double>(logits[i]) - logits[1]);
  const double q1 = e[1] / sum, q10 = q1 + e[0] / sum;
  Sampler sampler(with_temperature(1.0f, 77));
  std::mt19937_64 rng(77);
  for (int i = 0; i < 300; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    EXPECT_EQ(sampler.sample(logits, {}), u < q1 ? 1 : u < q10 ? 0 : 2) << "draw " << i << " u " << u;
  }
}

TEST(SamplerTest, SameSeedSameSequenceDifferentSeedDifferent) {
  const std::vector<float> logits = random_logits(1000, 9, 2.0);
  auto run = [&](uint64_t seed) {
    SamplingParams p = with_temperature(0.9f, seed);
    p.top_p = 0.95f;
    p.top_k = 200;
    p.frequency_penalty = 0.2f;
    Sampler sampler(p);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 100; ++i) tokens.push_back(sampler.sample(logits, tokens));
    return tokens;
  };
  const std::vector<int32_t> a = run(1), b = run(1), c = run(2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_GT(std::set<int32_t>(a.begin(), a.end()).size(), 10u);  // really sampling
}

// The sampler's own arithmetic without any pruning: full sort, full walks.
int32_t reference_sample(const std::vector<float>& logits, const SamplingParams& p, std::mt19937_64& rng) {
  struct C {
    double p;
    int32_t id;
  };
  std::vector<C> pool;
  double max_logit = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < logits.size(); ++i) {
    pool.push_back({static_cast<double>(logits[i]) / p.temperature, static_cast<int32_t>(i)});
    max_logit = std::max(max_logit, pool.back().p);
  }
  double sum = 0.0, p_max = 0.0, eligible = 0.0;
  for (C& c : pool) sum += c.p = std::exp(c.p - max_logit);
  for (C& c : pool) p_max = std::max(p_max, c.p /= sum);
  for (const C& c : pool)
    if (c.p > 0.0 && c.p >= static_cast<double>(p.min_p) * p_max) eligible += c.p;  // in id order
  std::sort(pool.begin(), pool.end(), [](const C& a, const C& b) { return a.p > b.p || (a.p == b.p && a.id < b.id); });
  std::size_t keep = 0;
  double cumulative = 0.0;
  for (; keep < pool.size(); ++keep) {
    if (pool[keep].p == 0.0 || pool[keep].p < static_cast<double>(p.min_p) * p_max) break;
    if (p.top_p < 1.0f && cumulative >= static_cast<double>(p.top_p) - 1e-6) break;
    cumulative += pool[keep].p;
  }
  // Survivors' total: in descending order after top-p, else in id order.
  double kept = eligible;
  if (p.top_p < 1.0f) {
    kept = 0.0;
    for (std::size_t i = 0; i < keep; ++i) kept += pool[i].p;
  }
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  double acc = 0.0;
  for (std::size_t i = 0; i < keep; ++i)
    if ((acc += pool[i].p / kept) > u) return pool[i].id;
  return pool[keep - 1].id;
}

TEST(SamplerTest, PrunedNucleusMatchesAFullSort) {
  std::vector<std::vector<float>> steps;
  for (uint64_t step = 0; step < 24; ++step) steps.push_back(random_logits(8000, step, 1.0 + static_cast<double>(step % 4)));
  for (float top_p : {0.5f, 0.9f, 0.99f, 1.0f}) {
    for (float min_p : {0.0f, 0.01f}) {
      SamplingParams p = with_temperature(0.8f, 11);
      p.top_p = top_p;
      p.min_p = min_p;
      Sampler sampler(p);
      std::mt19937_64 rng(p.seed);
      for (std::size_t step = 0; step < steps.size(); ++step) {
        ASSERT_EQ(sampler.sample(steps[step], {}), reference_sample(steps[step], p, rng))
            << "top_p " << top_p << " min_p " << min_p << " step " << step;
      }
    }
  }
}

TEST(SamplerTest, PositiveInfinityTakesAllTheMass) {
  Sampler sampler(with_temperature(1.0f, 5));
  const auto counts = histogram(sampler, {0.0f, kInf, 50.0f, kInf}, 400);
  EXPECT_EQ(support(counts), (std::set<int32_t>{1, 3}));
}

TEST(SamplerTest, RejectsNaNEmptyAndAllMaskedLogits) {
  Sampler sampler(with_temperature(1.0f));
  Sampler greedy_sampler(with_temperature(0.0f));
  const std::vector<float> nan_logits = {0.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f};
  EXPECT_TRUE(test::throws_error_mentioning([&] { sampler.sample(nan_logits, {}); }, {"NaN"}));
  EXPECT_TRUE(test::throws_error_mentioning([&] { greedy_sampler.sample(nan_logits, {}); }, {"NaN"}));
  EXPECT_TRUE(test::throws_error_mentioning([&] { sampler.sample({}, {}); }, {"empty"}));
  EXPECT_TRUE(
      test::throws_error_mentioning([&] { sampler.sample(std::vector<float>{-kInf, -kInf}, {}); }, {"-inf"}));
  EXPECT_TRUE(test::throws_error_mentioning(
      [&] { greedy_sampler.sample(std::vector<float>{-kInf, -kInf}, {}); }, {"-inf"}));
}

TEST(SamplerTest, ValidationNamesTheField) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto rejects = [](auto edit, const char* field) {
    SamplingParams p;
    edit(p);
    EXPECT_TRUE(test::throws_error_mentioning([&] { validate(p); }, {field}));
    EXPECT_TRUE(test::throws_error_mentioning([&] { Sampler s(p); }, {field}));
  };
  rejects([](SamplingParams& p) { p.temperature = -0.1f; }, "temperature");
  rejects([&](SamplingParams& p) { p.temperature = nan; }, "temperature");
  rejects([](SamplingParams& p) { p.temperature = kInf; }, "temperature");
  rejects([](SamplingParams& p) { p.top_k = -1; }, "top_k");
  rejects([](SamplingParams& p) { p.top_p = 0.0f; }, "top_p");
  rejects([](SamplingParams& p) { p.top_p = 1.01f; }, "top_p");
  rejects([&](SamplingParams& p) { p.top_p = nan; }, "top_p");
  rejects([](SamplingParams& p) { p.min_p = -0.01f; }, "min_p");
  rejects([](SamplingParams& p) { p.min_p = 1.5f; }, "min_p");
  rejects([&](SamplingParams& p) { p.min_p = nan; }, "min_p");
  rejects([](SamplingParams& p) { p.repetition_penalty = 0.0f; }, "repetition_penalty");
  rejects([](SamplingParams& p) { p.repetition_penalty = -1.0f; }, "repetition_penalty");
  rejects([](SamplingParams& p) { p.repetition_penalty = kInf; }, "repetition_penalty");
  rejects([&](SamplingParams& p) { p.presence_penalty = nan; }, "presence_penalty");
  rejects([](SamplingParams& p) { p.presence_penalty = -kInf; }, "presence_penalty");
  rejects([](SamplingParams& p) { p.frequency_penalty = kInf; }, "frequency_penalty");

  // The edges of every range are accepted.
  SamplingParams edges;
  edges.temperature = 0.0f;
  edges.top_p = 1.0f;
  edges.min_p = 1.0f;
  edges.presence_penalty = -2.0f;
  edges.frequency_penalty = -2.0f;
  EXPECT_NO_THROW(validate(edges));
  edges.min_p = 0.0f;
  edges.top_p = 1e-6f;
  EXPECT_NO_THROW(Sampler{edges});
  EXPECT_EQ(Sampler(edges).params().top_p, 1e-6f);
}

}  // namespace
}  // namespace frugal
