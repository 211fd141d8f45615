#pragma once
// Matrix products against stored weights, float32 accumulation.
#include <cstdint>

#include "frugal/kernels/weight_matrix.h"

namespace frugal {

// y[n, W.rows] = x[n, W.cols] W^T. Threads split W's rows, so each weight row
// is read (and decoded) once for all n inputs.
void linear(const float* x, int64_t n, const WeightMatrix& w, float* y);

// y[W.cols] = x[W.rows] W: a weighted sum of W's rows (single-threaded; the
// callers parallelise over heads).
void linear_transposed(const float* x, const WeightMatrix& w, float* y);

}  // namespace frugal
