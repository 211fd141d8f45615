// Q4 weights with 16 rows interleaved: every code and scale where
// q4_interleaved.h says, every level gives the exact integer sums times the
// scales, each (row, input) result the same bits whatever the batch, and
// linear() on an interleaved matrix agrees with the plain layout.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/linear.h"
#include "frugal/kernels/q4.h"
#include "frugal/kernels/q4_interleaved.h"
#include "frugal/kernels/q8.h"
#include "frugal/kernels/q8_interleaved.h"
#include "support/simd_levels.h"
#include "support/test_support.h"

namespace frugal {
namespace {

struct Codes {
  std::vector<uint8_t> codes, packed;
  std::vector<float> scales, packed_scales;
};

Codes random_codes(int64_t rows, int64_t cols, uint32_t seed) {
  const std::vector<float> values = test::normal_values(rows * cols, seed);
  Codes c{std::vector<uint8_t>(rows * cols), std::vector<uint8_t>(rows * cols / 2), std::vector<float>(rows * cols / 32),
          std::vector<float>(rows * cols / 32)};
  for (int64_t r = 0; r < rows; ++r)
    quantize_q4_codes(values.data() + r * cols, cols, c.codes.data() + r * cols, c.scales.data() + r * cols / 32);
  interleave_q4_rows(c.codes.data(), c.scales.data(), rows, cols, c.packed.data(), c.packed_scales.data());
  return c;
}

TEST(Q4InterleavedTest, EveryCodeAndScaleIsWhereTheLayoutSays) {
  const int64_t rows = 32, cols = 96;
  const Codes c = random_codes(rows, cols, 1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t col = 0; col < cols; ++col) {
      ASSERT_EQ(q4_interleaved_code(c.packed.data(), cols, r, col), c.codes[r * cols + col]) << r << ", " << col;
      ASSERT_EQ(q8_interleaved_scale(c.packed_scales.data(), cols, r, col), c.scales[(r * cols + col) / 32]);
    }
  // Spelled out once: row 16 + 3, column 32 + 4 * 6 + 1 (dword 6: line 2, high nibble), group 1, block 1.
  const int64_t blocks = cols / 32;
  EXPECT_EQ(c.packed[(1 * blocks + 1) * 256 + 64 * 2 + 4 * 3 + 1] >> 4, c.codes[19 * cols + 32 + 25]);
  std::vector<uint8_t> odd(24 * 32);
  std::vector<float> odd_scales(24);
  EXPECT_THROW(interleave_q4_rows(odd.data(), odd_scales.data(), 24, 32, odd.data(), odd_scales.data()), Error);
}

TEST(Q4InterleavedTest, EveryLevelGivesTheExactSumsAndTheSameBitsForAnyBatch) {
  // 10 groups and 9 inputs: tiles of 8 groups, then 2 (interleaved_rows.h).
  const int64_t rows = 160, cols = 32 * 67, groups = rows / 16, inputs = 9, blocks = cols / 32;
  const Codes w = random_codes(rows, cols, 2);
  const std::vector<float> x = test::normal_values(inputs * cols, 3, 2.0f);
  std::vector<int8_t> xq(inputs * cols);
  std::vector<float> xs(inputs * blocks);
  std::vector<int32_t> sums(inputs * blocks);
  quantize_q8(x.data(), inputs * cols, xq.data(), xs.data());
  for (int64_t t = 0; t < inputs; ++t) q8_input_sums(xq.data() + t * cols, cols, sums.data() + t * blocks);
  for (SimdLevel level : test::available_simd_levels()) {
    const int64_t y_stride = rows + 3;
    std::vector<float> all(inputs * y_stride, -1.0f);
    dot_q4_interleaved_at(level, w.packed.data(), w.packed_scales.data(), groups, xq.data(), xs.data(), sums.data(),
                          inputs, cols, all.data(), y_stride);
    for (int64_t t = 0; t < inputs; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        double exact = 0, magnitude = 0;
        for (int64_t b = 0; b < blocks; ++b) {
          int64_t dot = 0;
          for (int64_t i = 32 * b; i < 32 * b + 32; ++i) dot += (int64_t{w.codes[r * cols + i]} - 8) * xq[t * cols + i];
          const double scale = double(w.scales[r * blocks + b]) * xs[t * blocks + b];
          exact += double(dot) * scale;
          magnitude += std::fabs(double(dot) * scale);
        }
        ASSERT_NEAR(all[t * y_stride + r], exact, 1e-5 * (1 + magnitude)) << to_string(level) << " row " << r;
      }
      for (int64_t r = rows; r < y_stride; ++r) ASSERT_EQ(all[t * y_stride + r], -1.0f) << "wrote past the rows";
    }
    for (int64_t t = 0; t < inputs; ++t)
      for (int64_t g = 0; g < groups; ++g) {
        float one[16];
        dot_q4_interleaved_at(level, w.packed.data() + g * 16 * cols / 2, w.packed_scales.data() + g * 16 * blocks, 1,
                              xq.data() + t * cols, xs.data() + t * blocks, sums.data() + t * blocks, 1, cols, one, 16);
        for (int j = 0; j < 16; ++j) ASSERT_EQ(one[j], all[t * y_stride + g * 16 + j]) << to_string(level);
      }
  }
}

TEST(Q4InterleavedTest, LinearAgreesWithThePlainLayout) {
  const int64_t rows = 48, cols = 224, n = 3;
  const WeightMatrix stored = make_bf16_weight("w", rows, cols, test::normal_values(rows * cols, 4, 0.02f));
  const WeightMatrix interleaved = to_q4(stored), plain = to_q4(stored, /*interleave=*/false);
  EXPECT_EQ(interleaved.interleaved_rows, 16);
  EXPECT_EQ(plain.interleaved_rows, 0);
  const std::vector<float> x = test::normal_values(n * cols, 5);
  std::vector<float> y(n * rows), y_plain(n * rows), row(cols), plain_row(cols);
  linear(x.data(), n, interleaved, y.data());
  linear(x.data(), n, plain, y_plain.data());
  for (int64_t r = 0; r < rows; ++r) {
    interleaved.decode_row(r, row.data());
    plain.decode_row(r, plain_row.data());
    EXPECT_EQ(row, plain_row) << r;
    for (int64_t c = 0; c < cols; c += 7) EXPECT_EQ(interleaved.element(r, c), row[c]);
    for (int64_t t = 0; t < n; ++t)
      EXPECT_NEAR(y[t * rows + r], y_plain[t * rows + r], 1e-5 * (1 + std::fabs(y_plain[t * rows + r])));
  }
  const WeightMatrix slice = interleaved.row_slice(16, 16);
  for (int64_t c = 0; c < cols; c += 5) EXPECT_EQ(slice.element(4, c), interleaved.element(20, c));
  EXPECT_THROW(interleaved.row_slice(8, 16), Error);
}

}  // namespace
}  // namespace frugal
