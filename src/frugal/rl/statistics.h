#pragma once
// Confidence intervals for evaluation figures.
#include <cstdint>
#include <span>

namespace frugal::rl {

struct Interval {
  double lo = 0.0;
  double hi = 0.0;
};

// z of a two-sided 95% normal interval.
inline constexpr double kZ95 = 1.959963984540054;

// Wilson score interval for `successes` out of `n` trials: unlike p +- z*se
// it stays inside [0, 1] and is sensible at 0 or n successes. n = 0 gives
// [0, 1] (nothing is known).
Interval wilson_interval(int64_t successes, int64_t n, double z = kZ95);

// Normal-approximation interval of a mean: mean +- z * s / sqrt(n), s the
// sample standard deviation; a single value (or none) gives [mean, mean].
Interval mean_interval(std::span<const double> values, double z = kZ95);

double mean(std::span<const double> values);

}  // namespace frugal::rl
