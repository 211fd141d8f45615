#include "frugal/kernels/linear.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "frugal/core/error.h"
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

bool quantised_weights(const WeightMatrix& w) { return w.dtype == DType::I8 || w.dtype == DType::Q4; }
bool reads_block_sums(const WeightMatrix& w) { return quantised_weights(w) && w.interleaved_rows > 0; }
bool reads_q4_offsets(const WeightMatrix& w) { return w.dtype == DType::Q4 && w.interleaved_rows == 0; }

// Float32 rows usable in place (weights being trained, aligned F32 files),
// else null: a mapped file may place a tensor at any byte offset.
const float* aligned_f32_rows(const WeightMatrix& w) {
  if (w.dtype != DType::F32 || reinterpret_cast<std::uintptr_t>(w.data) % alignof(float) != 0) return nullptr;
  return reinterpret_cast<const float*>(w.data);
}

// Q8 or Q4 weights with rows interleaved by 16 (q8_interleaved.h,
// q4_interleaved.h): whole groups of 16 rows.
void interleaved_rows(const LinearInputs& in, const WeightMatrix& w, int64_t begin, int64_t end, float* y) {
  const int64_t group = w.interleaved_rows;
  const auto group_bytes = static_cast<int64_t>(w.row_bytes()) * group;
  const auto product = w.dtype == DType::I8 ? dot_q8_interleaved : dot_q4_interleaved;
  product(w.data + begin / group * group_bytes, w.scales->data() + (w.row_offset + begin) * w.scale_cols,
          (end - begin) / group, in.codes.data(), in.scales.data(), in.sums.data(), in.n, in.cols, y + begin, w.rows);
}

void bf16_rows(const LinearInputs& in, const WeightMatrix& w, int64_t begin, int64_t end, float* y) {
  const std::size_t stride = w.row_bytes();
  const int64_t rows = w.rows, cols = w.cols;
  int64_t r = begin;
  for (float out[4]; r + 4 <= end; r += 4) {  // straight from the stored rows, widened in registers
    const uint8_t* row = w.data + static_cast<std::size_t>(r) * stride;
    for (int64_t t = 0; t < in.n; ++t) {
      dot4_bf16_f32(row, stride, in.x + t * cols, cols, out);
      for (int k = 0; k < 4; ++k) y[t * rows + r + k] = out[k];
    }
  }
  for (; r < end; ++r) {
    const uint8_t* row = w.data + static_cast<std::size_t>(r) * stride;
    for (int64_t t = 0; t < in.n; ++t) y[t * rows + r] = dot_bf16_f32(row, in.x + t * cols, cols);
  }
}

}  // namespace

void prepare_linear_inputs(const float* x, int64_t n, int64_t cols, std::span<const WeightMatrix* const> weights,
                           LinearInputs& in) {
  bool quantise = false, sums = false, offsets = false, floats = false;
  for (const WeightMatrix* w : weights) {  // checked before `in` changes
    if (w->cols != cols) fail("linear inputs of ", cols, " columns for ", w->name, " with ", w->cols);
    floats = floats || !quantised_weights(*w);
    quantise = quantise || quantised_weights(*w);
    sums = sums || reads_block_sums(*w);
    offsets = offsets || reads_q4_offsets(*w);
  }
  in.x = x;
  in.n = n;
  in.cols = cols;
  in.floats_read = floats;
  const int64_t blocks = cols / kQ8Block;
  in.codes.resize(quantise ? static_cast<std::size_t>(n * cols) : 0);
  in.scales.resize(quantise ? static_cast<std::size_t>(n * blocks) : 0);
  in.sums.resize(sums ? static_cast<std::size_t>(n * blocks) : 0);
  in.q4_offsets.resize(offsets ? static_cast<std::size_t>(n * blocks) : 0);
  if (!quantise) return;
  // Over the threads in prefill: one thread quantising 512 inputs left the
  // others waiting (a few percent of prefill).
  ThreadPool::global().parallel_for(
      static_cast<std::size_t>(n), static_cast<std::size_t>(cols), [&](std::size_t begin, std::size_t end) {
        for (auto t = static_cast<int64_t>(begin); t < static_cast<int64_t>(end); ++t) {
          int8_t* codes = in.codes.data() + t * cols;
          quantize_q8(x + t * cols, cols, codes, in.scales.data() + t * blocks);
          if (sums) q8_input_sums(codes, cols, in.sums.data() + t * blocks);
          if (offsets) q4_input_offsets(codes, in.scales.data() + t * blocks, cols, in.q4_offsets.data() + t * blocks);
        }
      });
}

void prepare_linear_inputs(const float* x, int64_t n, int64_t cols, std::initializer_list<const WeightMatrix*> weights,
                           LinearInputs& in) {
  prepare_linear_inputs(x, n, cols, std::span<const WeightMatrix* const>(weights.begin(), weights.size()), in);
}

void gather_linear_inputs(const LinearInputs& all, std::span<const int64_t> tokens, LinearInputs& out) {
  const auto m = static_cast<int64_t>(tokens.size());
  const int64_t cols = all.cols, blocks = cols / kQ8Block;
  out.n = m;
  out.cols = cols;
  out.floats_read = all.floats_read;
  out.gathered.resize(all.floats_read ? static_cast<std::size_t>(m * cols) : 0);
  auto copy_rows = [&](const auto& from, auto& to, int64_t width) {
    to.resize(from.empty() ? 0 : static_cast<std::size_t>(m * width));
    if (from.empty()) return;
    for (int64_t i = 0; i < m; ++i) std::copy_n(from.begin() + tokens[i] * width, width, to.begin() + i * width);
  };
  if (all.floats_read)
    for (int64_t i = 0; i < m; ++i) std::copy_n(all.x + tokens[i] * cols, cols, out.gathered.begin() + i * cols);
  out.x = all.floats_read ? out.gathered.data() : nullptr;
  copy_rows(all.codes, out.codes, cols);
  copy_rows(all.scales, out.scales, blocks);
  copy_rows(all.sums, out.sums, blocks);
  copy_rows(all.q4_offsets, out.q4_offsets, blocks);
}

int64_t linear_row_step(const WeightMatrix& w) {
  if (quantised_weights(w) && w.interleaved_rows > 0) return w.interleaved_rows;
  if (w.panels && !quantised_weights(w)) return kPanelRows;
  return 1;
}

std::size_t linear_step_work(const WeightMatrix& w, int64_t n) {
  // Q4 and Q8 weighed by bytes read (a Q4 row is half a Q8 row); the float
  // formats by multiply-adds.
  const int64_t per_row = quantised_weights(w) ? static_cast<int64_t>(w.row_bytes()) : w.cols;
  return static_cast<std::size_t>(n * per_row * linear_row_step(w));
}

void linear_rows(const LinearInputs& in, const WeightMatrix& w, int64_t begin, int64_t end, float* y) {
  if (begin >= end || in.n == 0) return;
  const int64_t rows = w.rows, cols = w.cols;
  if (quantised_weights(w)) {
    if (!in.quantised() || (reads_block_sums(w) && in.sums.empty()) || (reads_q4_offsets(w) && in.q4_offsets.empty()))
      fail("linear: inputs were not prepared for ", w.name);
    if (w.interleaved_rows > 0) {
      interleaved_rows(in, w, begin, end, y);
    } else if (w.dtype == DType::I8) {
      dot_q8_rows_inputs(reinterpret_cast<const int8_t*>(w.data) + begin * cols,
                         w.scales->data() + (w.row_offset + begin) * w.scale_cols, w.scale_cols, end - begin,
                         in.codes.data(), in.scales.data(), in.n, cols, y + begin, rows);
    } else {
      dot_q4_rows_inputs(w.data + begin * (cols / 2), w.scales->data() + (w.row_offset + begin) * w.scale_cols,
                         w.scale_cols, end - begin, in.codes.data(), in.scales.data(), in.q4_offsets.data(), in.n,
                         cols, y + begin, rows);
    }
    return;
  }
  if (in.x == nullptr) fail("linear: inputs were gathered for quantised products only, not for ", w.name);
  if (w.panels) {
    panel_product(w.panels->data(), rows, cols, begin / kPanelRows, (end + kPanelRows - 1) / kPanelRows, in.x, cols,
                  in.n, y, rows);
  } else if (w.dtype == DType::BF16) {
    bf16_rows(in, w, begin, end, y);
  } else if (const float* rows_f32 = aligned_f32_rows(w)) {  // no copy: the rows are floats already
    dot_rows_inputs_f32(rows_f32 + begin * cols, end - begin, in.x, cols, in.n, cols, y + begin, rows);
  } else {
    std::vector<float> row(static_cast<std::size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      w.decode_row(r, row.data());
      for (int64_t t = 0; t < in.n; ++t) y[t * rows + r] = dot(in.x + t * cols, row.data(), cols);
    }
  }
}

void linear(const LinearInputs& in, const WeightMatrix& w, float* y) {
  const int64_t step = linear_row_step(w), steps = (w.rows + step - 1) / step;
  ThreadPool::global().parallel_for_balanced(static_cast<std::size_t>(steps), linear_step_work(w, in.n),
                                             [&](std::size_t begin, std::size_t end) {
                                               linear_rows(in, w, static_cast<int64_t>(begin) * step,
                                                           std::min(w.rows, static_cast<int64_t>(end) * step), y);
                                             });
}

void linear(const float* x, int64_t n, const WeightMatrix& w, float* y) {
  // Kept per calling thread and reused: prefill's quantised inputs run to
  // megabytes, and fresh pages for every product cost a page fault each (a
  // tenth of prefill's time, measured).
  thread_local LinearInputs in;
  prepare_linear_inputs(x, n, w.cols, {&w}, in);
  linear(in, w, y);
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
