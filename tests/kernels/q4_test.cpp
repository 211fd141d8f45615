// Q4 weights: the packing (every value's code where q4.h says), quantisation
// error bounds, every SIMD level's dot product against the portable one,
// bit-identity of the blocked kernel, and linear() on Q4 weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/core/dtype.h"
#include "frugal/kernels/linear.h"
#include "frugal/kernels/q4.h"
#include "frugal/kernels/q8.h"
#include "support/simd_levels.h"
#include "support/test_support.h"

namespace frugal {
namespace {

using test::normal_values;

// Block counts covering every grouping: only 1s, a 2, a 2 and a 1, full 4s.
const int64_t kBlockCounts[] = {1, 2, 3, 4, 5, 6, 7, 8, 11, 64};

TEST(Q4Test, PackingPutsEachValueWhereTheHeaderSays) {
  for (int64_t blocks : kBlockCounts) {
    const int64_t n = 32 * blocks;
    // Values whose codes are known: scale -1/8 per block (the extreme is -1 -> code 0).
    std::vector<float> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = i % 32 == 0 ? 1.0f : -static_cast<float>((i * 7 + i / 32) % 16 - 8) / 8.0f;
    std::vector<uint8_t> packed(n / 2);
    std::vector<float> scales(blocks);
    quantize_q4_row(x.data(), n, packed.data(), scales.data());
    for (int64_t i = 0; i < n; ++i) {
      const int want = static_cast<int>(std::nearbyint(x[i] / (1.0f / -8.0f))) + 8;
      ASSERT_EQ(q4_code(packed.data(), n, i), std::clamp(want, 0, 15)) << blocks << " blocks, value " << i;
    }
    // Explicit layout: a group of g blocks starting at block f holds value j
    // of the group at byte 16 f + j % (16 g), high nibble when j >= 16 g.
    const int g = blocks >= 4 ? 4 : (blocks >= 2 ? 2 : 1);
    const uint8_t first = packed[0];
    EXPECT_EQ(first & 0x0F, q4_code(packed.data(), n, 0));
    EXPECT_EQ(first >> 4, q4_code(packed.data(), n, 16 * g)) << blocks;
  }
}

TEST(Q4Test, QuantisationErrorIsBoundedByTheStep) {
  for (int64_t blocks : kBlockCounts) {
    const int64_t n = 32 * blocks;
    const auto x = normal_values(n, static_cast<uint32_t>(blocks));
    std::vector<uint8_t> packed(n / 2);
    std::vector<float> scales(blocks), back(n);
    quantize_q4_row(x.data(), n, packed.data(), scales.data());
    dequantize_q4_row(packed.data(), scales.data(), n, back.data());
    for (int64_t b = 0; b < blocks; ++b) {
      float amax = 0.0f;
      double error = 0.0, max_code_error = 0.0;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
      for (int i = 0; i < 32; ++i) {
        const double e = back[b * 32 + i] - x[b * 32 + i];
        error += e * e;
        max_code_error = std::max(max_code_error, std::fabs(e));
      }
      // Steps of amax / 8: rounding gives an rms error near step / sqrt(12);
      // a value of the other sign than the extreme may clamp at +7, a step
      // off, and the refitted scale (lower total squared error) may move the
      // largest codes a little further.
      const double step = amax / 8.0;
      EXPECT_LE(std::sqrt(error / 32), 1.5 * step / std::sqrt(12.0)) << blocks << " blocks, block " << b;
      EXPECT_LE(max_code_error, 1.25 * step) << blocks << " blocks, block " << b;
    }
  }
  std::vector<float> zeros(32, 0.0f), back(32, 1.0f);
  std::vector<uint8_t> packed(16);
  float scale = 1.0f;
  quantize_q4_row(zeros.data(), 32, packed.data(), &scale);
  dequantize_q4_row(packed.data(), &scale, 32, back.data());
  EXPECT_EQ(scale, 0.0f);
  for (float v : back) EXPECT_EQ(v, 0.0f);
}

// Blocks that reach each branch of the quantiser: a tie of +m and -m (the
// first wins), a block of zeros, one nonzero value, a NaN among finite
// values, values that round to exactly half a step, and plain normals.
std::vector<float> quantiser_cases() {
  std::vector<float> x = normal_values(32 * 40, 11);
  float* block = x.data();
  for (int i = 0; i < 32; ++i) block[i] = 0.0f;                       // zeros, -0 among them
  block[5] = -0.0f;
  block += 32;
  for (int i = 0; i < 32; ++i) block[i] = 0.0f;
  block[17] = -3.0f;                                                   // one nonzero value
  block += 32;
  for (int i = 0; i < 32; ++i) block[i] *= 0.1f;                      // a tie: +2.5 first, then -2.5
  block[3] = 2.5f;
  block[20] = -2.5f;
  block += 32;
  block[9] = std::nanf("");                                            // NaN never the extreme
  block += 32;
  for (int i = 0; i < 32; ++i) block[i] = static_cast<float>(i % 17 - 8) * 0.0625f + 0.03125f;  // half steps
  return x;
}

TEST(Q4Test, EveryLevelQuantisesToThePortableBits) {
  const std::vector<float> x = quantiser_cases();
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> want(x.size()), got(x.size());
  std::vector<float> want_scales(x.size() / 32), got_scales(x.size() / 32);
  quantize_q4_codes_at(SimdLevel::Portable, x.data(), n, want.data(), want_scales.data());
  // The portable codes themselves: the tie's first value (+2.5) is code 0.
  EXPECT_EQ(want[64 + 3], 0);
  EXPECT_EQ(want[64 + 20], 15);
  EXPECT_EQ(want_scales[0], 0.0f);
  EXPECT_EQ(want[32 + 17], 0);
  EXPECT_FLOAT_EQ(want_scales[1], -3.0f / -8.0f);
  for (SimdLevel level : test::available_simd_levels()) {
    quantize_q4_codes_at(level, x.data(), n, got.data(), got_scales.data());
    EXPECT_EQ(got, want) << to_string(level);
    for (std::size_t b = 0; b < want_scales.size(); ++b) {
      if (std::isnan(want_scales[b])) {
        EXPECT_TRUE(std::isnan(got_scales[b])) << to_string(level) << ", block " << b;
      } else {
        EXPECT_EQ(got_scales[b], want_scales[b]) << to_string(level) << ", block " << b;
      }
    }
  }
}

struct Q4Inputs {
  std::vector<int8_t> codes;
  std::vector<float> scales, offsets;
};

Q4Inputs quantise_inputs(const std::vector<float>& x, int64_t n) {
  const int64_t count = static_cast<int64_t>(x.size()) / n, blocks = n / 32;
  Q4Inputs in{std::vector<int8_t>(x.size()), std::vector<float>(count * blocks), std::vector<float>(count * blocks)};
  for (int64_t t = 0; t < count; ++t) {
    quantize_q8(x.data() + t * n, n, in.codes.data() + t * n, in.scales.data() + t * blocks);
    q4_input_offsets(in.codes.data() + t * n, in.scales.data() + t * blocks, n, in.offsets.data() + t * blocks);
  }
  return in;
}

TEST(Q4Test, EveryLevelGivesTheExactDotProductOfTheCodes) {
  for (int64_t blocks : kBlockCounts) {
    const int64_t n = 32 * blocks;
    const auto w = normal_values(n, 2), x = normal_values(n, 3);
    std::vector<uint8_t> wq(n / 2);
    std::vector<float> ws(blocks);
    quantize_q4_row(w.data(), n, wq.data(), ws.data());
    const Q4Inputs in = quantise_inputs(x, n);
    double exact = 0, magnitude = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double term = double(q4_code(wq.data(), n, i) - 8) * ws[i / 32] * in.codes[i] * in.scales[i / 32];
      exact += term;
      magnitude += std::fabs(8.0 * ws[i / 32] * in.codes[i] * in.scales[i / 32]);  // the offset cancels this much
    }
    for (SimdLevel level : test::available_simd_levels())
      EXPECT_NEAR(dot_q4_at(level, wq.data(), ws.data(), in.codes.data(), in.scales.data(), in.offsets.data(), n),
                  exact, 1e-5 * (1 + magnitude))
          << blocks << " blocks, " << to_string(level);
  }
}

TEST(Q4Test, RowsTimesInputsAreBitIdenticalToOneDotEach) {
  for (int64_t blocks : kBlockCounts) {
    const int64_t n = 32 * blocks, rows = 7, inputs = 9, scale_stride = blocks + 1;
    const auto w = normal_values(rows * n, 4), x = normal_values(inputs * n, 5, 3.0f);
    std::vector<uint8_t> wq(rows * n / 2);
    std::vector<float> ws(rows * scale_stride, 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      quantize_q4_row(w.data() + r * n, n, wq.data() + r * n / 2, ws.data() + r * scale_stride);
    const Q4Inputs in = quantise_inputs(x, n);
    for (SimdLevel level : test::available_simd_levels()) {
      for (int64_t used_inputs : {int64_t{1}, int64_t{2}, int64_t{3}, inputs}) {
        const int64_t y_stride = rows + 2;
        std::vector<float> y(used_inputs * y_stride, -1.0f);
        dot_q4_rows_inputs_at(level, wq.data(), ws.data(), scale_stride, rows, in.codes.data(), in.scales.data(),
                              in.offsets.data(), used_inputs, n, y.data(), y_stride);
        for (int64_t t = 0; t < used_inputs; ++t) {
          for (int64_t r = 0; r < rows; ++r)
            ASSERT_EQ(y[t * y_stride + r],
                      dot_q4_at(level, wq.data() + r * n / 2, ws.data() + r * scale_stride, in.codes.data() + t * n,
                                in.scales.data() + t * blocks, in.offsets.data() + t * blocks, n))
                << blocks << " blocks, row " << r << ", input " << t << ", " << to_string(level);
          for (int64_t r = rows; r < y_stride; ++r) ASSERT_EQ(y[t * y_stride + r], -1.0f) << "wrote past the rows";
        }
      }
    }
  }
}

TEST(Q4Test, LinearOnQ4WeightsMatchesTheDequantisedProduct) {
  const int64_t rows = 40, cols = 224, n = 3;  // 7 blocks: a group of 4, of 2 and of 1
  const auto values = normal_values(rows * cols, 4, 0.02f);
  const WeightMatrix stored = make_bf16_weight("w", rows, cols, values);
  ASSERT_TRUE(q4_applicable(stored));
  const WeightMatrix q = to_q4(stored);
  EXPECT_EQ(q.dtype, DType::Q4);
  EXPECT_FALSE(q4_applicable(q));
  EXPECT_EQ(q.stored_bytes(), static_cast<std::size_t>(rows * cols / 2 + rows * cols / 32 * 4));

  const auto x = normal_values(n * cols, 5);
  std::vector<float> y(n * rows), row(cols);
  linear(x.data(), n, q, y.data());
  const Q4Inputs in = quantise_inputs(x, cols);
  for (int64_t r = 0; r < rows; ++r) {
    q.decode_row(r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      double want = 0, unquantised = 0, w_norm = 0, x_norm = 0;
      for (int64_t c = 0; c < cols; ++c) {
        want += double(row[c]) * in.codes[t * cols + c] * in.scales[(t * cols + c) / 32];
        unquantised += double(values[r * cols + c]) * x[t * cols + c];
        w_norm += double(values[r * cols + c]) * values[r * cols + c];
        x_norm += double(x[t * cols + c]) * x[t * cols + c];
      }
      EXPECT_NEAR(y[t * rows + r], want, 1e-4 * std::sqrt(w_norm * x_norm));
      // 4-bit weights: error within 12% of |w| |x| (random rows: ~7% expected).
      EXPECT_NEAR(y[t * rows + r], unquantised, 0.12 * std::sqrt(w_norm * x_norm));
    }
  }
  // A row slice keeps its rows' scales; element() agrees with decode_row().
  const WeightMatrix slice = q.row_slice(7, 5);
  q.decode_row(9, row.data());
  for (int64_t c = 0; c < cols; c += 13) {
    EXPECT_EQ(slice.element(2, c), q.element(9, c));
    EXPECT_EQ(q.element(9, c), row[c]);
  }
}

}  // namespace
}  // namespace frugal
