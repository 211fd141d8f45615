// Q8 weights: quantisation error bounds, every SIMD level's block dot
// product against the portable one (exactly: integer sums), and linear() on
// Q8 weights against float32 arithmetic on the dequantised values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/core/dtype.h"
#include "frugal/core/error.h"
#include "frugal/kernels/linear.h"
#include "frugal/kernels/q8.h"
#include "support/test_support.h"

namespace frugal {
namespace {

using test::normal_values;

TEST(Q8Test, QuantisationErrorIsAtMostHalfAStep) {
  const auto x = normal_values(32 * 40, 1);
  std::vector<int8_t> q(x.size());
  std::vector<float> scales(x.size() / 32);
  quantize_q8(x.data(), static_cast<int64_t>(x.size()), q.data(), scales.data());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_LE(std::abs(int{q[i]}), 127);
    EXPECT_LE(std::fabs(q[i] * scales[i / 32] - x[i]), 0.5f * scales[i / 32] * 1.0001f) << i;
  }
  std::vector<float> zeros(32, 0.0f);
  quantize_q8(zeros.data(), 32, q.data(), scales.data());
  EXPECT_EQ(scales[0], 0.0f);
  EXPECT_EQ(q[0], 0);
}

TEST(Q8Test, EveryLevelQuantisesExactlyLikePortable) {
  auto x = normal_values(32 * 50, 6);
  x[5] = 0.0f;
  x[6] = -0.0f;
  for (int i = 64; i < 96; ++i) x[i] = 0.0f;  // an all-zero block
  std::vector<int8_t> want(x.size()), got(x.size());
  std::vector<float> want_scales(x.size() / 32), got_scales(x.size() / 32);
  quantize_q8_at(SimdLevel::Portable, x.data(), static_cast<int64_t>(x.size()), want.data(), want_scales.data());
  for (SimdLevel level : {SimdLevel::Avx2, SimdLevel::Avx512}) {
    if (level > hardware_simd_level()) continue;
    quantize_q8_at(level, x.data(), static_cast<int64_t>(x.size()), got.data(), got_scales.data());
    EXPECT_EQ(got, want) << to_string(level);
    EXPECT_EQ(got_scales, want_scales) << to_string(level);
  }
}

TEST(Q8Test, EveryLevelGivesThePortableDotProduct) {
  const int64_t n = 32 * 67;  // an odd number of blocks exercises the single-block tail
  const auto w = normal_values(n, 2), x = normal_values(n, 3);
  std::vector<int8_t> wq(n), xq(n);
  std::vector<float> ws(n / 32), xs(n / 32);
  quantize_q8(w.data(), n, wq.data(), ws.data());
  quantize_q8(x.data(), n, xq.data(), xs.data());
  // x contains -127..127 including negative values, the case vpdpbusd's
  // unsigned operand needs the sign trick for.
  const float portable = dot_q8_at(SimdLevel::Portable, wq.data(), ws.data(), xq.data(), xs.data(), n);
  double exact = 0;
  for (int64_t i = 0; i < n; ++i) exact += double(wq[i]) * ws[i / 32] * double(xq[i]) * xs[i / 32];
  EXPECT_NEAR(portable, exact, 1e-4 * (1 + std::fabs(exact)));
  for (SimdLevel level : {SimdLevel::Avx2, SimdLevel::Avx512}) {
    if (level > hardware_simd_level()) continue;
    EXPECT_NEAR(dot_q8_at(level, wq.data(), ws.data(), xq.data(), xs.data(), n), portable,
                1e-5 * (1 + std::fabs(portable)))
        << to_string(level);
  }
}

TEST(Q8Test, RowsTimesInputsAreBitIdenticalToOneDotEach) {
  // Prefill's blocked kernel must give each (row, input) exactly dot_q8's value.
  for (int64_t blocks : {1, 2, 7, 64}) {  // odd counts leave a single-block tail
    const int64_t n = 32 * blocks, rows = 5, inputs = 9, scale_stride = blocks + 1;
    const auto w = normal_values(rows * n, 4), x = normal_values(inputs * n, 5, 3.0f);
    std::vector<int8_t> wq(rows * n), xq(inputs * n);
    std::vector<float> ws(rows * scale_stride, 0.0f), xs(inputs * blocks);
    for (int64_t r = 0; r < rows; ++r) quantize_q8(w.data() + r * n, n, wq.data() + r * n, ws.data() + r * scale_stride);
    quantize_q8(x.data(), inputs * n, xq.data(), xs.data());
    for (SimdLevel level : {SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512}) {
      if (level > hardware_simd_level()) continue;
      const int64_t y_stride = rows + 2;
      std::vector<float> y(inputs * y_stride, -1.0f);
      dot_q8_rows_inputs_at(level, wq.data(), ws.data(), scale_stride, rows, xq.data(), xs.data(), inputs, n, y.data(),
                            y_stride);
      for (int64_t t = 0; t < inputs; ++t) {
        for (int64_t r = 0; r < rows; ++r)
          ASSERT_EQ(y[t * y_stride + r], dot_q8_at(level, wq.data() + r * n, ws.data() + r * scale_stride,
                                                   xq.data() + t * n, xs.data() + t * blocks, n))
              << blocks << " blocks, row " << r << ", input " << t << ", " << to_string(level);
        for (int64_t r = rows; r < y_stride; ++r) ASSERT_EQ(y[t * y_stride + r], -1.0f) << "wrote past the rows";
      }
    }
  }
}

TEST(Q8Test, LinearOnQ8WeightsMatchesTheDequantisedProduct) {
  const int64_t rows = 48, cols = 96, n = 3;
  const auto values = normal_values(rows * cols, 4, 0.02f);
  const WeightMatrix stored = make_bf16_weight("w", rows, cols, values);
  ASSERT_TRUE(q8_applicable(stored));
  const WeightMatrix q = to_q8(stored);
  EXPECT_EQ(q.dtype, DType::I8);
  EXPECT_EQ(q.stored_bytes(), static_cast<std::size_t>(rows * cols + rows * cols / 32 * 4));

  const auto x = normal_values(n * cols, 5);
  std::vector<float> y(n * rows), row(cols);
  linear(x.data(), n, q, y.data());
  // Reference: the dequantised weights times the (quantised) inputs in double.
  std::vector<int8_t> xq(n * cols);
  std::vector<float> xs(n * cols / 32);
  for (int64_t t = 0; t < n; ++t) quantize_q8(x.data() + t * cols, cols, xq.data() + t * cols, xs.data() + t * cols / 32);
  for (int64_t r = 0; r < rows; ++r) {
    q.decode_row(r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      double want = 0, unquantised = 0, w_norm = 0, x_norm = 0;
      for (int64_t c = 0; c < cols; ++c) {
        want += double(row[c]) * xq[t * cols + c] * xs[(t * cols + c) / 32];
        unquantised += double(values[r * cols + c]) * x[t * cols + c];
        w_norm += double(values[r * cols + c]) * values[r * cols + c];
        x_norm += double(x[t * cols + c]) * x[t * cols + c];
      }
      EXPECT_NEAR(y[t * rows + r], want, 1e-5 * (1 + std::fabs(want)));
      // 8-bit weights and inputs: error well under 2% of |w| |x|.
      EXPECT_NEAR(y[t * rows + r], unquantised, 0.02 * std::sqrt(w_norm * x_norm));
    }
  }
  // 48 rows: interleaved by 16. A row slice keeps its own scales; slices that
  // cut a group of 16 are refused.
  EXPECT_EQ(q.interleaved_rows, 16);
  const WeightMatrix slice = q.row_slice(16, 32);
  std::vector<float> sliced_row(cols);
  slice.decode_row(3, sliced_row.data());
  q.decode_row(19, row.data());
  for (int64_t c = 0; c < cols; ++c) {
    EXPECT_EQ(slice.element(3, c), q.element(19, c));
    EXPECT_EQ(sliced_row[c], row[c]);
  }
  EXPECT_THROW(q.row_slice(7, 5), Error);
  // The plain layout holds the same values and gives the same products.
  const WeightMatrix plain = to_q8(stored, /*interleave=*/false);
  EXPECT_EQ(plain.interleaved_rows, 0);
  std::vector<float> y_plain(n * rows), plain_row(cols);
  linear(x.data(), n, plain, y_plain.data());
  for (int64_t r = 0; r < rows; ++r) {
    plain.decode_row(r, plain_row.data());
    q.decode_row(r, row.data());
    EXPECT_EQ(plain_row, row) << r;
    for (int64_t t = 0; t < n; ++t)
      EXPECT_NEAR(y_plain[t * rows + r], y[t * rows + r], 1e-5 * (1 + std::fabs(y[t * rows + r])));
  }
}

}  // namespace
}  // namespace frugal
