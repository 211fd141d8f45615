#pragma once
// Float32 weights repacked for products with a few inputs (decode steps and
// decode batches). A row-major matrix gives each output as a dot product
// that ends in a horizontal sum, which costs as much as the multiply-adds
// when rows are 64-256 values long, as in small models. Repacked into panels
// of kPanelRows rows stored column by column, 16 outputs are one vector:
//   y[r0 .. r0 + 16) += x[c] * panel[c][0 .. 16)   for every column c,
// with no horizontal sum at all, and each output is summed in column order
// whatever the number of inputs, so a row gives bit-identical results alone
// or in a batch.
#include <cstdint>
#include <vector>

#include "frugal/core/cpu_features.h"

namespace frugal {

struct WeightMatrix;

inline constexpr int64_t kPanelRows = 16;

int64_t panel_count(int64_t rows);
// Panel p holds rows [16p, 16p + 16): value (r, c) at [p][c][r - 16p]; rows
// past the matrix are zero.
std::vector<float> pack_panels(const WeightMatrix& w);
// Sets w.panels when w is float32 (the other dtypes have kernels of their own).
void attach_panels(WeightMatrix& w);

// y[t * y_stride + r] = sum over c of x_t[c] w[r][c], in column order, for the
// rows of panels [panel_begin, panel_end) (clipped to `rows`) and the inputs
// x_t = x + t * x_stride, t < inputs.
void panel_product(const float* panels, int64_t rows, int64_t cols, int64_t panel_begin, int64_t panel_end,
                   const float* x, int64_t x_stride, int64_t inputs, float* y, int64_t y_stride);
void panel_product_at(SimdLevel level, const float* panels, int64_t rows, int64_t cols, int64_t panel_begin,
                      int64_t panel_end, const float* x, int64_t x_stride, int64_t inputs, float* y,
                      int64_t y_stride);

}  // namespace frugal
