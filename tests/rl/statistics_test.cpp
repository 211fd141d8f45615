// Confidence intervals against values computed by hand from the formulas
// (and matching published Wilson tables: 5/10 -> [0.2366, 0.7634]).
#include <gtest/gtest.h>

#include <vector>

#include "frugal/core/error.h"
#include "frugal/rl/statistics.h"

namespace frugal::rl {
namespace {

TEST(WilsonInterval, MatchesHandComputedValues) {
  struct Case {
    int64_t k, n;
    double lo, hi;
  };
  for (const Case& c : std::vector<Case>{{0, 10, 0.0, 0.2775328},
                                         {5, 10, 0.2365931, 0.7634069},
                                         {8, 10, 0.4901625, 0.9433178},
                                         {81, 100, 0.7222115, 0.8748525},
                                         {10, 10, 0.7224672, 1.0},
                                         {1, 1, 0.2065493, 1.0}}) {
    const Interval i = wilson_interval(c.k, c.n);
    EXPECT_NEAR(i.lo, c.lo, 1e-7) << c.k << "/" << c.n;
    EXPECT_NEAR(i.hi, c.hi, 1e-7) << c.k << "/" << c.n;
  }
}

TEST(WilsonInterval, IsExactAtTheEndsAndWholeWithoutData) {
  EXPECT_EQ(wilson_interval(0, 7).lo, 0.0);
  EXPECT_EQ(wilson_interval(7, 7).hi, 1.0);
  const Interval none = wilson_interval(0, 0);
  EXPECT_EQ(none.lo, 0.0);
  EXPECT_EQ(none.hi, 1.0);
  EXPECT_THROW(wilson_interval(3, 2), Error);
  EXPECT_THROW(wilson_interval(-1, 2), Error);
}

TEST(MeanInterval, IsTheNormalApproximation) {
  const std::vector<double> values = {10, 12, 14, 20};  // mean 14, s = sqrt(56/3)
  EXPECT_DOUBLE_EQ(mean(values), 14.0);
  const Interval i = mean_interval(values);
  EXPECT_NEAR(i.lo, 9.7659939, 1e-6);
  EXPECT_NEAR(i.hi, 18.2340061, 1e-6);
  const std::vector<double> one = {5};
  EXPECT_EQ(mean_interval(one).lo, 5.0);
  EXPECT_EQ(mean_interval(one).hi, 5.0);
}

}  // namespace
}  // namespace frugal::rl
