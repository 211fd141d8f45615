// The vectorised element-wise operations at every SIMD level against exact
// double-precision values, over lengths that leave partial vectors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/kernels/ops.h"
#include "support/simd_levels.h"

namespace frugal {
namespace {

TEST(OpsTest, AxpyAtEveryLevel) {
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t n : {1, 15, 16, 17, 100}) {
    std::vector<float> x(n), y0(n);
    for (int64_t i = 0; i < n; ++i) x[i] = normal(rng), y0[i] = normal(rng);
    for (SimdLevel level : test::available_simd_levels()) {
      std::vector<float> y = y0;
      y.push_back(42.0f);  // past the end: must stay
      axpy_at(level, -0.75f, x.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(y[i], y0[i] - 0.75 * static_cast<double>(x[i]), 1e-6) << i << " at " << to_string(level);
      EXPECT_EQ(y[n], 42.0f) << to_string(level);
    }
  }
}

TEST(OpsTest, SiluMulAtEveryLevel) {
  // Gates from -120 to 120: saturated both ways, and the steep middle.
  for (int64_t n : {1, 16, 33, 241}) {
    std::vector<float> gate0(n), up(n);
    for (int64_t i = 0; i < n; ++i) {
      gate0[i] = n == 1 ? 0.3f : -120.0f + 240.0f * static_cast<float>(i) / static_cast<float>(n - 1);
      up[i] = 0.5f + static_cast<float>(i % 7);
    }
    for (SimdLevel level : test::available_simd_levels()) {
      std::vector<float> gate = gate0;
      silu_mul_at(level, gate.data(), up.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const double g = gate0[i], expected = g / (1.0 + std::exp(-g)) * up[i];
        ASSERT_TRUE(std::isfinite(gate[i])) << "gate " << g << " at " << to_string(level);
        ASSERT_NEAR(gate[i], expected, 2e-6 * (1.0 + std::fabs(expected))) << "gate " << g << " at " << to_string(level);
      }
    }
  }
}

TEST(OpsTest, ExpInPlaceAtEveryLevel) {
  std::vector<float> x0;
  for (float v = -110.0f; v <= 88.0f; v += 0.37f) x0.push_back(v);
  x0.push_back(-INFINITY);
  x0.push_back(0.0f);
  for (SimdLevel level : test::available_simd_levels()) {
    std::vector<float> x = x0;
    exp_in_place_at(level, x.data(), static_cast<int64_t>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double expected = std::exp(static_cast<double>(x0[i]));
      if (x0[i] == -INFINITY) {  // a masked-out token: exactly 0, or it could still be drawn
        ASSERT_EQ(x[i], 0.0f) << "e^-inf at " << to_string(level);
        continue;
      }
      if (expected < 1e-37) {  // the float range's far end: zero or a tiny value, never negative or NaN
        ASSERT_TRUE(x[i] >= 0.0f && x[i] < 1e-36f) << x0[i] << " at " << to_string(level);
        continue;
      }
      ASSERT_NEAR(x[i], expected, 3e-7 * expected) << x0[i] << " at " << to_string(level);
    }
  }
}

TEST(OpsTest, RmsNormAtEveryLevel) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int64_t dim : {1, 15, 16, 33, 512}) {
    const int64_t rows = 3;
    std::vector<float> x(rows * dim), weight(dim);
    for (float& v : x) v = normal(rng);
    for (float& v : weight) v = 0.5f + 0.1f * normal(rng);
    for (SimdLevel level : test::available_simd_levels()) {
      std::vector<float> out(rows * dim + 1, 42.0f);
      rms_norm_at(level, x.data(), weight.data(), rows, dim, 1e-6f, out.data());
      for (int64_t r = 0; r < rows; ++r) {
        double squares = 0.0;
        for (int64_t i = 0; i < dim; ++i) squares += static_cast<double>(x[r * dim + i]) * x[r * dim + i];
        const double inv = 1.0 / std::sqrt(squares / static_cast<double>(dim) + 1e-6);
        for (int64_t i = 0; i < dim; ++i) {
          const double expected = x[r * dim + i] * inv * weight[i];
          ASSERT_NEAR(out[r * dim + i], expected, 1e-5 * (1.0 + std::fabs(expected)))
              << "dim " << dim << " row " << r << " at " << to_string(level);
        }
      }
      EXPECT_EQ(out[rows * dim], 42.0f) << to_string(level);
      std::vector<float> in_place = x;  // out may equal x
      rms_norm_at(level, in_place.data(), weight.data(), rows, dim, 1e-6f, in_place.data());
      for (int64_t i = 0; i < rows * dim; ++i) ASSERT_EQ(in_place[i], out[i]) << to_string(level);
    }
  }
}

TEST(OpsTest, SoftmaxAtEveryLevel) {
  std::mt19937 rng(6);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  for (int64_t n : {1, 7, 16, 17, 300}) {
    std::vector<float> x0(n);
    for (float& v : x0) v = normal(rng);
    if (n > 2) x0[1] = -INFINITY;  // a masked position
    double largest = -INFINITY;
    for (float v : x0) largest = std::max(largest, static_cast<double>(v));
    std::vector<double> expected(n);
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) total += expected[i] = std::exp(static_cast<double>(x0[i]) - largest);
    for (SimdLevel level : test::available_simd_levels()) {
      std::vector<float> x = x0;
      x.push_back(42.0f);
      softmax_at(level, x.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(x[i], expected[i] / total, 1e-6 * (1.0 + expected[i] / total)) << "n " << n << " i " << i
                                                                                    << " at " << to_string(level);
      if (n > 2) EXPECT_EQ(x[1], 0.0f) << to_string(level);
      EXPECT_EQ(x[n], 42.0f) << to_string(level);
    }
  }
}

TEST(OpsTest, RopeInterleavedAtEveryLevel) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  for (int64_t dim : {2, 6, 16, 24, 64}) {
    std::vector<float> z0(dim), cos(dim / 2), sin(dim / 2);
    for (float& v : z0) v = uniform(rng);
    for (int64_t i = 0; i < dim / 2; ++i) {
      const float angle = uniform(rng);
      cos[i] = std::cos(angle);
      sin[i] = std::sin(angle);
    }
    for (SimdLevel level : test::available_simd_levels()) {
      std::vector<float> z = z0;
      z.push_back(42.0f);
      rope_interleaved_at(level, z.data(), cos.data(), sin.data(), dim);
      for (int64_t i = 0; i < dim / 2; ++i) {
        const double a = z0[2 * i], b = z0[2 * i + 1];
        ASSERT_NEAR(z[2 * i], a * cos[i] - b * sin[i], 1e-6) << "dim " << dim << " pair " << i << " at " << to_string(level);
        ASSERT_NEAR(z[2 * i + 1], a * sin[i] + b * cos[i], 1e-6) << "dim " << dim << " pair " << i << " at " << to_string(level);
      }
      EXPECT_EQ(z[dim], 42.0f) << to_string(level);
    }
  }
}

}  // namespace
}  // namespace frugal
