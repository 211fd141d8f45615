// Q8 weights with 16 rows interleaved: the layout puts every code and scale
// where q8_interleaved.h says, every level gives the exact integer sums times
// the scales, and each (row, input) result is the same bits whatever the
// number of inputs and groups computed with it.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/q8.h"
#include "frugal/kernels/q8_interleaved.h"
#include "support/simd_levels.h"

namespace frugal {
namespace {

struct Packed {
  std::vector<int8_t> codes;  // row-major, as quantize_q8 gives them
  std::vector<float> scales;
  std::vector<uint8_t> bytes;
  std::vector<float> packed_scales;
};

Packed random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(rows * cols);
  for (float& v : values) v = normal(rng);
  values[3] = 0.0f;
  Packed p{std::vector<int8_t>(rows * cols), std::vector<float>(rows * cols / 32), std::vector<uint8_t>(rows * cols),
           std::vector<float>(rows * cols / 32)};
  quantize_q8(values.data(), rows * cols, p.codes.data(), p.scales.data());
  p.codes[5] = -127;  // the extremes of the +128 offset
  p.codes[6] = 127;
  if (rows % 16 == 0)  // inputs (9 rows) stay row-major
    interleave_q8_rows(p.codes.data(), p.scales.data(), rows, cols, p.bytes.data(), p.packed_scales.data());
  return p;
}

TEST(Q8InterleavedTest, EveryCodeAndScaleIsWhereTheLayoutSays) {
  const int64_t rows = 48, cols = 96;
  const Packed p = random_matrix(rows, cols, 1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      ASSERT_EQ(q8_interleaved_code(p.bytes.data(), cols, r, c), p.codes[r * cols + c]) << r << ", " << c;
      ASSERT_EQ(q8_interleaved_scale(p.packed_scales.data(), cols, r, c), p.scales[(r * cols + c) / 32]);
    }
  // Spelled out once: row 16 + 3, column 32 + 4 * 5 + 2 is in group 1, block 1.
  const int64_t blocks = cols / 32;
  EXPECT_EQ(int{p.bytes[(1 * blocks + 1) * 512 + 4 * (16 * 5 + 3) + 2]} - 128, p.codes[19 * cols + 32 + 22]);
}

TEST(Q8InterleavedTest, RowsMustFillWholeGroups) {
  std::vector<int8_t> codes(24 * 32);
  std::vector<float> scales(24);
  std::vector<uint8_t> packed(32 * 32);
  std::vector<float> packed_scales(32);
  EXPECT_THROW(interleave_q8_rows(codes.data(), scales.data(), 24, 32, packed.data(), packed_scales.data()), Error);
}

TEST(Q8InterleavedTest, EveryLevelGivesTheExactSumsAndTheSameBitsForAnyBatch) {
  // 10 groups and 9 inputs: tiles of 8 groups, then 2 (interleaved_rows.h).
  const int64_t rows = 160, cols = 32 * 67, groups = rows / 16, inputs = 9, blocks = cols / 32;
  const Packed w = random_matrix(rows, cols, 2), x = random_matrix(inputs, cols, 3);  // x's rows: the inputs
  std::vector<int32_t> sums(inputs * blocks);
  for (int64_t t = 0; t < inputs; ++t) q8_input_sums(x.codes.data() + t * cols, cols, sums.data() + t * blocks);
  for (SimdLevel level : test::available_simd_levels()) {
    const int64_t y_stride = rows + 3;
    std::vector<float> all(inputs * y_stride, -1.0f);
    dot_q8_interleaved_at(level, w.bytes.data(), w.packed_scales.data(), groups, x.codes.data(), x.scales.data(),
                          sums.data(), inputs, cols, all.data(), y_stride);
    for (int64_t t = 0; t < inputs; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        double exact = 0, magnitude = 0;
        for (int64_t b = 0; b < blocks; ++b) {
          int64_t dot = 0;
          for (int64_t i = 32 * b; i < 32 * b + 32; ++i) dot += int64_t{w.codes[r * cols + i]} * x.codes[t * cols + i];
          const double scale = double(w.scales[r * blocks + b]) * x.scales[t * blocks + b];
          exact += double(dot) * scale;
          magnitude += std::fabs(double(dot) * scale);
        }
        ASSERT_NEAR(all[t * y_stride + r], exact, 1e-5 * (1 + magnitude)) << to_string(level) << " row " << r;
      }
      for (int64_t r = rows; r < y_stride; ++r) ASSERT_EQ(all[t * y_stride + r], -1.0f) << "wrote past the rows";
    }
    // One input at a time, one group at a time: the same bits.
    for (int64_t t = 0; t < inputs; ++t)
      for (int64_t g = 0; g < groups; ++g) {
        float one[16];
        dot_q8_interleaved_at(level, w.bytes.data() + g * 16 * cols, w.packed_scales.data() + g * 16 * blocks, 1,
                              x.codes.data() + t * cols, x.scales.data() + t * blocks, sums.data() + t * blocks, 1,
                              cols, one, 16);
        for (int j = 0; j < 16; ++j) ASSERT_EQ(one[j], all[t * y_stride + g * 16 + j]) << to_string(level);
      }
  }
}

}  // namespace
}  // namespace frugal
