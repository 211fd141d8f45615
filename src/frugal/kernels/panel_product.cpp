#include "frugal/kernels/panel_product.h"

#include <algorithm>
#include <memory>

#include "frugal/kernels/simd_math.h"
#include "frugal/kernels/weight_matrix.h"

namespace frugal {
namespace {

void panel_product_portable(const float* panels, int64_t rows, int64_t cols, int64_t panel_begin, int64_t panel_end,
                            const float* x, int64_t x_stride, int64_t inputs, float* y, int64_t y_stride) {
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const float* panel = panels + p * cols * kPanelRows;
    const int64_t first = p * kPanelRows, count = std::min(kPanelRows, rows - first);
    for (int64_t t = 0; t < inputs; ++t) {
      float sums[kPanelRows] = {};
      const float* input = x + t * x_stride;
      for (int64_t c = 0; c < cols; ++c)
        for (int64_t l = 0; l < kPanelRows; ++l) sums[l] += panel[c * kPanelRows + l] * input[c];
      std::copy_n(sums, count, y + t * y_stride + first);
    }
  }
}

#if defined(__x86_64__)

// P panels (16 P rows) times T inputs: P x T accumulators, and per column P
// loads, T broadcasts and P x T FMAs.
template <int P, int T>
FRUGAL_AVX512 void panel_block_avx512(const float* panels, int64_t cols, const float* x, int64_t x_stride, float* y,
                                      int64_t y_stride, int64_t rows_left) {
  const int64_t panel_floats = cols * kPanelRows;
  __m512 acc[P][T];
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) acc[p][t] = _mm512_setzero_ps();
  for (int64_t c = 0; c < cols; ++c) {
    __m512 w[P];
    for (int p = 0; p < P; ++p) w[p] = _mm512_loadu_ps(panels + p * panel_floats + c * kPanelRows);
    for (int t = 0; t < T; ++t) {
      const __m512 input = _mm512_set1_ps(x[t * x_stride + c]);
      for (int p = 0; p < P; ++p) acc[p][t] = _mm512_fmadd_ps(w[p], input, acc[p][t]);
    }
  }
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t)
      _mm512_mask_storeu_ps(y + t * y_stride + p * kPanelRows, lanes_left(rows_left - p * kPanelRows), acc[p][t]);
}

template <int P>
FRUGAL_AVX512 void panel_inputs_avx512(const float* panels, int64_t cols, const float* x, int64_t x_stride,
                                       int64_t inputs, float* y, int64_t y_stride, int64_t rows_left) {
  for (int64_t t0 = 0; t0 < inputs; t0 += 4) {
    const float* xt = x + t0 * x_stride;
    float* yt = y + t0 * y_stride;
    switch (std::min<int64_t>(4, inputs - t0)) {
      case 1: panel_block_avx512<P, 1>(panels, cols, xt, x_stride, yt, y_stride, rows_left); break;
      case 2: panel_block_avx512<P, 2>(panels, cols, xt, x_stride, yt, y_stride, rows_left); break;
      case 3: panel_block_avx512<P, 3>(panels, cols, xt, x_stride, yt, y_stride, rows_left); break;
      default: panel_block_avx512<P, 4>(panels, cols, xt, x_stride, yt, y_stride, rows_left); break;
    }
  }
}

FRUGAL_AVX512 void panel_product_avx512(const float* panels, int64_t rows, int64_t cols, int64_t panel_begin,
                                        int64_t panel_end, const float* x, int64_t x_stride, int64_t inputs,
                                        float* y, int64_t y_stride) {
  constexpr int64_t kPanelsPerBlock = 4;  // 64 rows: 4 x 4 accumulators, 4 loads per 16 FMAs
  for (int64_t p = panel_begin; p < panel_end;) {
    const int64_t block = std::min(kPanelsPerBlock, panel_end - p);
    const float* first = panels + p * cols * kPanelRows;
    float* out = y + p * kPanelRows;
    const int64_t rows_left = rows - p * kPanelRows;
    switch (block) {
      case 1: panel_inputs_avx512<1>(first, cols, x, x_stride, inputs, out, y_stride, rows_left); break;
      case 2: panel_inputs_avx512<2>(first, cols, x, x_stride, inputs, out, y_stride, rows_left); break;
      case 3: panel_inputs_avx512<3>(first, cols, x, x_stride, inputs, out, y_stride, rows_left); break;
      default: panel_inputs_avx512<4>(first, cols, x, x_stride, inputs, out, y_stride, rows_left); break;
    }
    p += block;
  }
}

// AVX2: a panel is two 8-wide vectors per column; one panel by up to 4
// inputs holds 8 accumulators (of the 16 registers).
template <int T>
FRUGAL_AVX2 void panel_inputs_avx2(const float* panel, int64_t cols, const float* x, int64_t x_stride, float* y,
                                   int64_t y_stride, int64_t rows_left) {
  __m256 acc[2][T];
  for (int h = 0; h < 2; ++h)
    for (int t = 0; t < T; ++t) acc[h][t] = _mm256_setzero_ps();
  for (int64_t c = 0; c < cols; ++c) {
    const __m256 w0 = _mm256_loadu_ps(panel + c * kPanelRows), w1 = _mm256_loadu_ps(panel + c * kPanelRows + 8);
    for (int t = 0; t < T; ++t) {
      const __m256 input = _mm256_broadcast_ss(x + t * x_stride + c);
      acc[0][t] = _mm256_fmadd_ps(w0, input, acc[0][t]);
      acc[1][t] = _mm256_fmadd_ps(w1, input, acc[1][t]);
    }
  }
  const int64_t count = std::min(kPanelRows, rows_left);
  for (int t = 0; t < T; ++t) {
    float sums[kPanelRows];
    _mm256_storeu_ps(sums, acc[0][t]);
    _mm256_storeu_ps(sums + 8, acc[1][t]);
    std::copy_n(sums, count, y + t * y_stride);
  }
}

FRUGAL_AVX2 void panel_product_avx2(const float* panels, int64_t rows, int64_t cols, int64_t panel_begin,
                                    int64_t panel_end, const float* x, int64_t x_stride, int64_t inputs, float* y,
                                    int64_t y_stride) {
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const float* panel = panels + p * cols * kPanelRows;
    float* out = y + p * kPanelRows;
    const int64_t rows_left = rows - p * kPanelRows;
    for (int64_t t0 = 0; t0 < inputs; t0 += 4) {
      const float* xt = x + t0 * x_stride;
      float* yt = out + t0 * y_stride;
      switch (std::min<int64_t>(4, inputs - t0)) {
        case 1: panel_inputs_avx2<1>(panel, cols, xt, x_stride, yt, y_stride, rows_left); break;
        case 2: panel_inputs_avx2<2>(panel, cols, xt, x_stride, yt, y_stride, rows_left); break;
        case 3: panel_inputs_avx2<3>(panel, cols, xt, x_stride, yt, y_stride, rows_left); break;
        default: panel_inputs_avx2<4>(panel, cols, xt, x_stride, yt, y_stride, rows_left); break;
      }
    }
  }
}

#endif

}  // namespace

int64_t panel_count(int64_t rows) { return (rows + kPanelRows - 1) / kPanelRows; }

std::vector<float> pack_panels(const WeightMatrix& w) {
  std::vector<float> panels(static_cast<std::size_t>(panel_count(w.rows) * w.cols * kPanelRows), 0.0f);
  std::vector<float> row(static_cast<std::size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    w.decode_row(r, row.data());
    float* panel = panels.data() + (r / kPanelRows) * w.cols * kPanelRows;
    for (int64_t c = 0; c < w.cols; ++c) panel[c * kPanelRows + r % kPanelRows] = row[c];
  }
  return panels;
}

void attach_panels(WeightMatrix& w) {
  if (w.empty() || w.dtype != DType::F32) return;
  w.panels = std::make_shared<const std::vector<float>>(pack_panels(w));
}

void panel_product_at(SimdLevel level, const float* panels, int64_t rows, int64_t cols, int64_t panel_begin,
                      int64_t panel_end, const float* x, int64_t x_stride, int64_t inputs, float* y,
                      int64_t y_stride) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    panel_product_avx512(panels, rows, cols, panel_begin, panel_end, x, x_stride, inputs, y, y_stride);
    return;
  }
  if (level == SimdLevel::Avx2) {
    panel_product_avx2(panels, rows, cols, panel_begin, panel_end, x, x_stride, inputs, y, y_stride);
    return;
  }
#endif
  (void)level;
  panel_product_portable(panels, rows, cols, panel_begin, panel_end, x, x_stride, inputs, y, y_stride);
}

void panel_product(const float* panels, int64_t rows, int64_t cols, int64_t panel_begin, int64_t panel_end,
                   const float* x, int64_t x_stride, int64_t inputs, float* y, int64_t y_stride) {
  panel_product_at(simd_level(), panels, rows, cols, panel_begin, panel_end, x, x_stride, inputs, y, y_stride);
}

}  // namespace frugal
