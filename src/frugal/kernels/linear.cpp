#include "frugal/kernels/linear.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "frugal/core/thread_pool.h"
#include "frugal/kernels/dot.h"
#include "frugal/kernels/ops.h"
#include "frugal/kernels/panel_product.h"
#include "frugal/kernels/q4.h"
#include "frugal/kernels/q4_interleaved.h"
#include "frugal/kernels/q8.h"
#include "frugal/kernels/q8_interleaved.h"

namespace frugal {

namespace {

// Inputs quantised for the Q8 and Q4 kernels, kept per calling thread and
// reused: prefill's run to megabytes, and fresh pages for every product cost
// a page fault each (a tenth of prefill's time, measured).
struct QuantisedInputs {
  std::vector<int8_t> codes;
  std::vector<float> scales, offsets;  // offsets: Q4's per-block term
  std::vector<int32_t> sums;           // block sums: the interleaved layouts' offset term
};

enum class InputTerms { None, Q4Offsets, BlockSums };

const QuantisedInputs& quantise_inputs(const float* x, int64_t n, int64_t cols, InputTerms terms) {
  thread_local QuantisedInputs in;
  const int64_t blocks = cols / kQ8Block;
  in.codes.resize(static_cast<std::size_t>(n * cols));
  in.scales.resize(static_cast<std::size_t>(n * blocks));
  if (terms == InputTerms::Q4Offsets) in.offsets.resize(static_cast<std::size_t>(n * blocks));
  if (terms == InputTerms::BlockSums) in.sums.resize(static_cast<std::size_t>(n * blocks));
  for (int64_t t = 0; t < n; ++t) {
    int8_t* codes = in.codes.data() + t * cols;
    quantize_q8(x + t * cols, cols, codes, in.scales.data() + t * blocks);
    if (terms == InputTerms::Q4Offsets)
      q4_input_offsets(codes, in.scales.data() + t * blocks, cols, in.offsets.data() + t * blocks);
    if (terms == InputTerms::BlockSums) q8_input_sums(codes, cols, in.sums.data() + t * blocks);
  }
  return in;
}

// Q8 or Q4 weights with rows interleaved by 16 (q8_interleaved.h,
// q4_interleaved.h): 16 rows per step, so threads take whole groups.
using InterleavedProduct = void (*)(const uint8_t*, const float*, int64_t, const int8_t*, const float*,
                                    const int32_t*, int64_t, int64_t, float*, int64_t);

void linear_interleaved(const float* x, int64_t n, const WeightMatrix& w, float* y, InterleavedProduct product) {
  const int64_t rows = w.rows, cols = w.cols, group = w.interleaved_rows;
  const auto group_bytes = static_cast<int64_t>(w.row_bytes()) * group;
  const QuantisedInputs& in = quantise_inputs(x, n, cols, InputTerms::BlockSums);
  ThreadPool::global().parallel_for(static_cast<std::size_t>(rows / group), static_cast<std::size_t>(n * group_bytes),
                                    [&](std::size_t begin, std::size_t end) {
    const int64_t first = static_cast<int64_t>(begin) * group;
    product(w.data + static_cast<int64_t>(begin) * group_bytes,
            w.scales->data() + (w.row_offset + first) * w.scale_cols, static_cast<int64_t>(end - begin),
            in.codes.data(), in.scales.data(), in.sums.data(), n, cols, y + first, rows);
  });
}

// Q8 weights: the inputs are quantised once, then every row is integer dot
// products per block.
void linear_q8(const float* x, int64_t n, const WeightMatrix& w, float* y) {
  const int64_t rows = w.rows, cols = w.cols;
  if (w.interleaved_rows > 0) {
    linear_interleaved(x, n, w, y, dot_q8_interleaved);
    return;
  }
  const QuantisedInputs& in = quantise_inputs(x, n, cols, InputTerms::None);
  const auto* values = reinterpret_cast<const int8_t*>(w.data);
  ThreadPool::global().parallel_for(static_cast<std::size_t>(rows), static_cast<std::size_t>(n * cols),
                                    [&](std::size_t begin, std::size_t end) {
    const auto first = static_cast<int64_t>(begin);
    dot_q8_rows_inputs(values + first * cols, w.scales->data() + (w.row_offset + first) * w.scale_cols, w.scale_cols,
                       static_cast<int64_t>(end) - first, in.codes.data(), in.scales.data(), n, cols, y + first, rows);
  });
}

// Q4 weights: inputs quantised as for Q8, plus each block's offset term.
void linear_q4(const float* x, int64_t n, const WeightMatrix& w, float* y) {
  const int64_t rows = w.rows, cols = w.cols;
  if (w.interleaved_rows > 0) {
    linear_interleaved(x, n, w, y, dot_q4_interleaved);
    return;
  }
  const QuantisedInputs& in = quantise_inputs(x, n, cols, InputTerms::Q4Offsets);
  // Work weighed by bytes read: a Q4 row is half a Q8 row's.
  ThreadPool::global().parallel_for(static_cast<std::size_t>(rows), static_cast<std::size_t>(n * cols / 2),
                                    [&](std::size_t begin, std::size_t end) {
    const auto first = static_cast<int64_t>(begin);
    dot_q4_rows_inputs(w.data + first * (cols / 2), w.scales->data() + (w.row_offset + first) * w.scale_cols,
                       w.scale_cols, static_cast<int64_t>(end) - first, in.codes.data(), in.scales.data(),
                       in.offsets.data(), n, cols, y + first, rows);
  });
}

// Float32 rows usable in place (weights being trained, aligned F32 files),
// else null: a mapped file may place a tensor at any byte offset.
const float* aligned_f32_rows(const WeightMatrix& w) {
  if (w.dtype != DType::F32 || reinterpret_cast<std::uintptr_t>(w.data) % alignof(float) != 0) return nullptr;
  return reinterpret_cast<const float*>(w.data);
}

}  // namespace

void linear(const float* x, int64_t n, const WeightMatrix& w, float* y) {
  if (w.dtype == DType::I8) {
    linear_q8(x, n, w, y);
    return;
  }
  if (w.dtype == DType::Q4) {
    linear_q4(x, n, w, y);
    return;
  }
  const int64_t rows = w.rows, cols = w.cols;
  if (w.panels) {
    ThreadPool::global().parallel_for(static_cast<std::size_t>(panel_count(rows)),
                                      static_cast<std::size_t>(n * cols * kPanelRows),
                                      [&](std::size_t begin, std::size_t end) {
                                        panel_product(w.panels->data(), rows, cols, static_cast<int64_t>(begin),
                                                      static_cast<int64_t>(end), x, cols, n, y, rows);
                                      });
    return;
  }
  ThreadPool::global().parallel_for(
      static_cast<std::size_t>(rows), static_cast<std::size_t>(n * cols), [&](std::size_t begin, std::size_t end) {
        if (w.dtype == DType::BF16) {  // straight from the stored rows, widened in registers
          const std::size_t stride = w.row_bytes();
          auto r = static_cast<int64_t>(begin);
          for (float out[4]; r + 4 <= static_cast<int64_t>(end); r += 4) {
            const uint8_t* row = w.data + static_cast<std::size_t>(r) * stride;
            for (int64_t t = 0; t < n; ++t) {
              dot4_bf16_f32(row, stride, x + t * cols, cols, out);
              for (int k = 0; k < 4; ++k) y[t * rows + r + k] = out[k];
            }
          }
          for (; r < static_cast<int64_t>(end); ++r) {
            const uint8_t* row = w.data + static_cast<std::size_t>(r) * stride;
            for (int64_t t = 0; t < n; ++t) y[t * rows + r] = dot_bf16_f32(row, x + t * cols, cols);
          }
          return;
        }
        if (const float* rows_f32 = aligned_f32_rows(w)) {  // no copy: the rows are floats already
          const auto first = static_cast<int64_t>(begin);
          dot_rows_inputs_f32(rows_f32 + first * cols, static_cast<int64_t>(end) - first, x, cols, n, cols, y + first,
                              rows);
          return;
        }
        std::vector<float> row(static_cast<std::size_t>(cols));
        for (auto r = static_cast<int64_t>(begin); r < static_cast<int64_t>(end); ++r) {
          w.decode_row(r, row.data());
          for (int64_t t = 0; t < n; ++t) y[t * rows + r] = dot(x + t * cols, row.data(), cols);
        }
      });
}

void linear_transposed(const float* x, const WeightMatrix& w, float* y) {
  for (int64_t c = 0; c < w.cols; ++c) y[c] = 0.0f;
  if (const float* rows_f32 = aligned_f32_rows(w)) {
    for (int64_t r = 0; r < w.rows; ++r) axpy(x[r], rows_f32 + r * w.cols, y, w.cols);
    return;
  }
  std::vector<float> row(static_cast<std::size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    w.decode_row(r, row.data());
    axpy(x[r], row.data(), y, w.cols);
  }
}

}  // namespace frugal
