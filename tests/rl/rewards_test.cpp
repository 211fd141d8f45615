// Rewards: accuracy, format, partial credit (only with the format right),
// weights, and the breakdown.
#include <gtest/gtest.h>

#include "frugal/core/error.h"
#include "frugal/rl/rewards.h"
#include "frugal/rl/task_registry.h"

namespace frugal::rl {
namespace {

class Rewards : public testing::Test {
 protected:
  std::unique_ptr<Task> task = make_task("add");
  Problem problem{"Compute 47 + 85", "132", "by-hand", {47, 85}};
};

TEST_F(Rewards, DefaultWeightsScoreAccuracyAndFormat) {
  const std::vector<Reward> r = rewards();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].name, "accuracy");
  EXPECT_EQ(r[0].weight, 1.0);
  EXPECT_EQ(r[1].name, "format");
  EXPECT_EQ(r[1].weight, 0.1);
  EXPECT_EQ(r[2].name, "partial");
  EXPECT_EQ(r[2].weight, 0.0);

  const RewardScore right = score_completion(r, *task, problem, "<think> 7+5=12 c1 </think> <answer> 132 </answer>");
  EXPECT_DOUBLE_EQ(right.total, 1.1);
  EXPECT_EQ(right.value("accuracy"), 1.0);
  EXPECT_EQ(right.value("format"), 1.0);
  EXPECT_EQ(right.value("partial"), 1.0);  // reported even with weight 0

  const RewardScore wrong = score_completion(r, *task, problem, "<think> hm </think> <answer> 131 </answer>");
  EXPECT_DOUBLE_EQ(wrong.total, 0.1);
  EXPECT_EQ(wrong.value("accuracy"), 0.0);
  EXPECT_NEAR(wrong.value("partial"), 2.0 / 3.0, 1e-12);

  // Right answer, broken format: accuracy counts, format and partial do not.
  const RewardScore sloppy = score_completion(r, *task, problem, "it is <answer> 132 </answer>");
  EXPECT_DOUBLE_EQ(sloppy.total, 1.0);
  EXPECT_EQ(sloppy.value("format"), 0.0);
  EXPECT_EQ(sloppy.value("partial"), 0.0);

  const RewardScore nothing = score_completion(r, *task, problem, "132");
  EXPECT_DOUBLE_EQ(nothing.total, 0.0);
  EXPECT_THROW(nothing.value("style"), Error);
}

TEST_F(Rewards, WeightsScaleTheTotal) {
  const std::vector<Reward> r = rewards({.accuracy = 2.0, .format = 0.5, .partial = 0.25});
  const RewardScore s = score_completion(r, *task, problem, "<think> </think> <answer> 122 </answer>");
  EXPECT_NEAR(s.total, 2.0 * 0 + 0.5 * 1 + 0.25 * (2.0 / 3.0), 1e-12);
  ASSERT_EQ(s.components.size(), 3u);
  EXPECT_EQ(s.components[2].weight, 0.25);
}

TEST_F(Rewards, EachFunctionStandsAlone) {
  const ParsedCompletion good = parse_completion("<think> x </think> <answer> 132 </answer>");
  EXPECT_EQ(accuracy_reward(*task, problem, good), 1.0);
  EXPECT_EQ(format_reward(*task, problem, good), 1.0);
  EXPECT_EQ(partial_reward(*task, problem, good), 1.0);
  const ParsedCompletion none = parse_completion("<think> x </think>");
  EXPECT_EQ(accuracy_reward(*task, problem, none), 0.0);
  EXPECT_EQ(partial_reward(*task, problem, none), 0.0);
}

}  // namespace
}  // namespace frugal::rl
