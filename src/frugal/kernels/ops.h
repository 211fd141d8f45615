#pragma once
// Model-agnostic element-wise and row-wise operations on float32 arrays.
// The _at variants run one SIMD level (tests compare each with portable).
#include <cstdint>

#include "frugal/core/cpu_features.h"

namespace frugal {

float dot(const float* a, const float* b, int64_t n);
// y += alpha * x
void axpy(float alpha, const float* x, float* y, int64_t n);
void axpy_at(SimdLevel level, float alpha, const float* x, float* y, int64_t n);

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, for `rows` rows of
// width `dim`; out may equal x.
void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
              float* out);
void rms_norm_at(SimdLevel level, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                 float* out);

// gate[i] = silu(gate[i]) * up[i]
void silu_mul(float* gate, const float* up, int64_t n);
void silu_mul_at(SimdLevel level, float* gate, const float* up, int64_t n);

// x[i] = e^x[i] (within 2 ulp at every level; -inf gives 0).
void exp_in_place(float* x, int64_t n);
void exp_in_place_at(SimdLevel level, float* x, int64_t n);

// Numerically stable softmax in place.
void softmax(float* x, int64_t n);
void softmax_at(SimdLevel level, float* x, int64_t n);

// Rotates adjacent pairs (z[2i], z[2i+1]) by the angles whose cos/sin are
// given (dim/2 each): DeepSeek's interleaved RoPE layout.
void rope_interleaved(float* z, const float* cos, const float* sin, int64_t dim);
void rope_interleaved_at(SimdLevel level, float* z, const float* cos, const float* sin, int64_t dim);

}  // namespace frugal
