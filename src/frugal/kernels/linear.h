#pragma once
// Matrix products against stored weights, float32 accumulation.
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "frugal/kernels/weight_matrix.h"

namespace frugal {

// The inputs x[n, cols] of one or more products, prepared once: Q8 and Q4
// weights take x as int8 codes per block of 32 with a scale each (q8.h),
// plus each block's code sum (the interleaved layouts) or Q4 offset term
// (row-major Q4). Products that read the same inputs (gate and up; a MoE
// layer's shared and routed experts; q_proj and kv_a_proj) share one
// quantisation.
struct LinearInputs {
  const float* x = nullptr;  // the floats, for the other formats (null when gathered for Q8/Q4 only)
  int64_t n = 0;
  int64_t cols = 0;
  std::vector<int8_t> codes;  // [n, cols] when quantised
  std::vector<float> scales;  // [n, cols / 32]
  std::vector<int32_t> sums;  // [n, cols / 32] when an interleaved matrix reads them
  std::vector<float> q4_offsets;  // [n, cols / 32] when a row-major Q4 matrix reads them
  std::vector<float> gathered;    // x's storage when gathered from other inputs
  bool floats_read = true;        // some product reads x itself (not Q8/Q4): gathering copies it

  bool quantised() const { return !scales.empty(); }
};

// Prepares x[n, cols] for products with each of `weights` (all of `cols`
// columns): quantised, with the terms their layouts read, if any is Q8 or Q4.
// `in` keeps its buffers' capacity from earlier calls.
void prepare_linear_inputs(const float* x, int64_t n, int64_t cols, std::span<const WeightMatrix* const> weights,
                           LinearInputs& in);
void prepare_linear_inputs(const float* x, int64_t n, int64_t cols, std::initializer_list<const WeightMatrix*> weights,
                           LinearInputs& in);

// Rows `tokens` of `all`, floats and quantised terms copied (not recomputed).
void gather_linear_inputs(const LinearInputs& all, std::span<const int64_t> tokens, LinearInputs& out);

// The multiple of rows a split of w's rows keeps to (16 for interleaved or
// panelled rows, else 1); the last split may end at w.rows.
int64_t linear_row_step(const WeightMatrix& w);

// Work of one row step for n inputs, in the units of ThreadPool::kSerialWork.
std::size_t linear_step_work(const WeightMatrix& w, int64_t n);

// y[t, r] = x_t . W_r for rows [begin, end) of W (multiples of
// linear_row_step, or end = W.rows), on the calling thread; y holds W.rows
// values per input.
void linear_rows(const LinearInputs& in, const WeightMatrix& w, int64_t begin, int64_t end, float* y);

// y[n, W.rows] = x[n, W.cols] W^T. Threads split W's rows, so each weight row
// is read (and decoded) once for all n inputs.
void linear(const LinearInputs& in, const WeightMatrix& w, float* y);
void linear(const float* x, int64_t n, const WeightMatrix& w, float* y);

// y[W.cols] = x[W.rows] W: a weighted sum of W's rows (single-threaded; the
// callers parallelise over heads).
void linear_transposed(const float* x, const WeightMatrix& w, float* y);

}  // namespace frugal
