#include "frugal/rl/statistics.h"

#include <cmath>

#include "frugal/core/error.h"

namespace frugal::rl {

Interval wilson_interval(int64_t successes, int64_t n, double z) {
  if (n < 0 || successes < 0 || successes > n) fail("wilson interval: ", successes, " successes out of ", n);
  if (n == 0) return {0.0, 1.0};
  const double nn = static_cast<double>(n), p = static_cast<double>(successes) / nn, z2 = z * z;
  const double denominator = 1.0 + z2 / nn;
  const double center = (p + z2 / (2.0 * nn)) / denominator;
  const double half = z * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denominator;
  // Clamp rounding at the ends (0 successes must give exactly 0).
  return {successes == 0 ? 0.0 : std::fmax(0.0, center - half), successes == n ? 1.0 : std::fmin(1.0, center + half)};
}

double mean(std::span<const double> values) {
  if (values.empty()) return 0.0;
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

Interval mean_interval(std::span<const double> values, double z) {
  const double m = mean(values);
  if (values.size() < 2) return {m, m};
  double squares = 0.0;
  for (double v : values) squares += (v - m) * (v - m);
  const double n = static_cast<double>(values.size());
  const double half = z * std::sqrt(squares / (n - 1.0)) / std::sqrt(n);
  return {m - half, m + half};
}

}  // namespace frugal::rl
