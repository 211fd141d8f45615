#pragma once
// RMSNorm (spec 3.1) with its backward pass: y = x / rms(x) * w per row.
#include <cstdint>
#include <vector>

namespace frugal {

struct NormTape {
  std::vector<float> input;    // x [rows, dim]
  std::vector<float> inv_rms;  // 1 / sqrt(mean(x^2) + eps) [rows]
};

// out [rows, dim] = RMSNorm(x); keeps x and 1/rms in the tape. x has row
// stride `ldx` (0 = dim) so that a column range of a wider matrix can be normed.
void rms_norm_forward(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out,
                      NormTape& tape, int64_t ldx = 0);

// dx (row stride lddx, 0 = dim) = d/dx given dy; dweight += d/dweight.
// dx is overwritten unless `accumulate`.
void rms_norm_backward(const float* dy, const float* weight, const NormTape& tape, int64_t dim, float* dx,
                       float* dweight, bool accumulate = false, int64_t lddx = 0);

}  // namespace frugal
