// Every SIMD implementation of the dot products against the portable one and
// against an exact double-precision sum, over lengths that exercise every
// tail, and with unaligned BF16 rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/core/dtype.h"
#include "frugal/core/error.h"
#include "frugal/kernels/dot.h"
#include "support/simd_levels.h"

namespace frugal {
namespace {

TEST(DotTest, EveryLevelMatchesTheExactSum) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (int64_t n : {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100, 511, 512, 2048, 2049}) {
    std::vector<float> a(n), b(n);
    std::vector<uint8_t> w(2 * n + 1);  // +1: the BF16 row starts at an odd address
    double exact_f32 = 0, exact_bf16 = 0;
    for (int64_t i = 0; i < n; ++i) {
      a[i] = uniform(rng);
      b[i] = uniform(rng);
      const uint16_t bits = f32_to_bf16(uniform(rng));
      std::memcpy(&w[1 + 2 * i], &bits, 2);
      exact_f32 += static_cast<double>(a[i]) * b[i];
      exact_bf16 += static_cast<double>(bf16_to_f32(bits)) * b[i];
    }
    const double tolerance = 1e-6 * (1.0 + std::sqrt(static_cast<double>(n)));
    for (SimdLevel level : test::available_simd_levels()) {
      SCOPED_TRACE("n " + std::to_string(n) + " level " + to_string(level));
      EXPECT_NEAR(dot_f32_at(level, a.data(), b.data(), n), exact_f32, tolerance);
      EXPECT_NEAR(dot_bf16_f32_at(level, w.data() + 1, b.data(), n), exact_bf16, tolerance);
    }
  }
}

TEST(DotTest, LevelsAgreeWithPortable) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = 4099;
  std::vector<float> a(n), b(n);
  std::vector<uint8_t> w(2 * n);
  for (int64_t i = 0; i < n; ++i) {
    a[i] = normal(rng);
    b[i] = normal(rng);
    const uint16_t bits = f32_to_bf16(normal(rng));
    std::memcpy(&w[2 * i], &bits, 2);
  }
  const float f32 = dot_f32_at(SimdLevel::Portable, a.data(), b.data(), n);
  const float bf16 = dot_bf16_f32_at(SimdLevel::Portable, w.data(), b.data(), n);
  for (SimdLevel level : test::available_simd_levels()) {
    EXPECT_NEAR(dot_f32_at(level, a.data(), b.data(), n), f32, 1e-4f * (1.0f + std::fabs(f32))) << to_string(level);
    EXPECT_NEAR(dot_bf16_f32_at(level, w.data(), b.data(), n), bf16, 1e-4f * (1.0f + std::fabs(bf16)))
        << to_string(level);
  }
}

// Weight rows times a batch of inputs give, bit for bit, what each input
// gives alone: batched decoding must reproduce single-sequence decoding.
TEST(DotTest, SeveralInputsAreBitIdenticalToOneAtATime) {
  std::mt19937 rng(13);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t rows = 70;  // more than one tile of rows
  for (int64_t n : {1, 15, 16, 17, 31, 32, 33, 48, 64, 100, 128, 513}) {
    const int64_t stride = n + 3, y_stride = rows + 5;  // inputs and outputs need not be packed
    const int64_t most = 2 * kMaxDotInputs + 1;        // several groups of inputs
    std::vector<float> w(rows * n), x(most * stride);
    for (float& v : w) v = normal(rng);
    for (float& v : x) v = normal(rng);
    for (SimdLevel level : test::available_simd_levels()) {
      for (int64_t inputs : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{4}, int64_t{5}, int64_t{7},
                             int64_t{kMaxDotInputs}, most}) {
        std::vector<float> y(inputs * y_stride, -1.0f);
        dot_rows_inputs_f32_at(level, w.data(), rows, x.data(), stride, inputs, n, y.data(), y_stride);
        for (int64_t t = 0; t < inputs; ++t) {
          for (int64_t r = 0; r < rows; ++r) {
            const float alone = dot_f32_at(level, x.data() + t * stride, w.data() + r * n, n);
            ASSERT_EQ(y[t * y_stride + r], alone)
                << "n " << n << " row " << r << " input " << t << " of " << inputs << " level " << to_string(level);
            ASSERT_NEAR(alone, dot_f32_at(SimdLevel::Portable, x.data() + t * stride, w.data() + r * n, n),
                        1e-4f * (1.0f + std::fabs(alone)));
          }
          for (int64_t r = rows; r < y_stride; ++r) ASSERT_EQ(y[t * y_stride + r], -1.0f) << "wrote past the rows";
        }
      }
    }
  }
}

TEST(CpuFeaturesTest, LevelCanBeLoweredNotRaised) {
  const SimdLevel hardware = hardware_simd_level();
  set_simd_level(SimdLevel::Portable);
  EXPECT_EQ(simd_level(), SimdLevel::Portable);
  set_simd_level(SimdLevel::Avx512);
  EXPECT_EQ(simd_level(), hardware);  // capped by what the CPU has
  EXPECT_FALSE(describe_cpu().empty());
}

}  // namespace
}  // namespace frugal
