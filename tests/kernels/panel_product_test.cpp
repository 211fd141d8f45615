// Panel products at every SIMD level against double-precision sums, and the
// property decode batches rely on: an output is bit-identical whatever the
// number of inputs it is computed with.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/kernels/panel_product.h"
#include "frugal/kernels/weight_matrix.h"
#include "support/simd_levels.h"

namespace frugal {
namespace {

TEST(PanelProductTest, MatchesExactSumsAndIsBitIdenticalAcrossBatchSizes) {
  std::mt19937 rng(29);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Rows: one partial panel, exact panels, a block of 4 plus a remainder.
  for (int64_t rows : {5, 16, 48, 64, 83}) {
    for (int64_t cols : {1, 17, 64, 130}) {
      std::vector<float> values(rows * cols);
      for (float& v : values) v = normal(rng);
      const WeightMatrix w = make_f32_weight("w", rows, cols, values);
      const std::vector<float> panels = pack_panels(w);
      ASSERT_EQ(static_cast<int64_t>(panels.size()), panel_count(rows) * cols * kPanelRows);
      const int64_t inputs = 9, x_stride = cols + 2, y_stride = rows + 3;  // more than one group of 4
      std::vector<float> x(inputs * x_stride);
      for (float& v : x) v = normal(rng);
      for (SimdLevel level : test::available_simd_levels()) {
        std::vector<float> batch(inputs * y_stride, -1.0f);
        panel_product_at(level, panels.data(), rows, cols, 0, panel_count(rows), x.data(), x_stride, inputs,
                         batch.data(), y_stride);
        for (int64_t t = 0; t < inputs; ++t) {
          std::vector<float> alone(rows);
          panel_product_at(level, panels.data(), rows, cols, 0, panel_count(rows), x.data() + t * x_stride, x_stride,
                           1, alone.data(), rows);
          for (int64_t r = 0; r < rows; ++r) {
            double exact = 0;
            for (int64_t c = 0; c < cols; ++c) exact += static_cast<double>(values[r * cols + c]) * x[t * x_stride + c];
            const float got = batch[t * y_stride + r];
            ASSERT_EQ(got, alone[r]) << rows << "x" << cols << " row " << r << " input " << t << " at "
                                     << to_string(level);
            ASSERT_NEAR(got, exact, 1e-5 * (std::sqrt(static_cast<double>(cols)) + std::fabs(exact)))
                << rows << "x" << cols << " row " << r << " at " << to_string(level);
          }
          for (int64_t r = rows; r < y_stride; ++r) ASSERT_EQ(batch[t * y_stride + r], -1.0f) << "wrote past the rows";
        }
      }
    }
  }
}

TEST(PanelProductTest, PanelRangesCoverTheirRowsOnly) {
  // Threads split a product by panels: each range writes its own rows.
  const int64_t rows = 40, cols = 8;
  std::vector<float> values(rows * cols, 1.0f);
  const std::vector<float> panels = pack_panels(make_f32_weight("w", rows, cols, values));
  const std::vector<float> x(cols, 0.5f);
  for (SimdLevel level : test::available_simd_levels()) {
    std::vector<float> y(rows, -1.0f);
    panel_product_at(level, panels.data(), rows, cols, 1, 2, x.data(), cols, 1, y.data(), rows);
    for (int64_t r = 0; r < rows; ++r)
      EXPECT_EQ(y[r], r >= 16 && r < 32 ? 4.0f : -1.0f) << "row " << r << " at " << to_string(level);
  }
}

}  // namespace
}  // namespace frugal
