#pragma once
// Dot products with float32 accumulation, one implementation per SIMD level
// (portable C++, AVX2+FMA, AVX-512), chosen at run time by simd_level().
// BF16 weights are widened to float32 exactly, so every level computes the
// same mathematical value; only the summation order differs.
#include <cstddef>
#include <cstdint>

#include "frugal/core/cpu_features.h"

namespace frugal {

// a . b over n floats.
float dot_f32(const float* a, const float* b, int64_t n);
// w . x where w holds n BF16 values (any alignment) and x n floats.
float dot_bf16_f32(const uint8_t* w, const float* x, int64_t n);

// out[k] = row_k . x for the 4 BF16 rows w, w + stride, w + 2 stride, w + 3
// stride (bytes): four independent memory streams keep more loads in flight
// than one, which matters when each row is a 4 KiB page of its own.
void dot4_bf16_f32(const uint8_t* w, std::size_t stride, const float* x, int64_t n, float* out);
void dot4_bf16_f32_at(SimdLevel level, const uint8_t* w, std::size_t stride, const float* x, int64_t n, float* out);

// y[t * y_stride + r] = row_r . x_t for the rows row_r = w + r * n (r < rows)
// and the inputs x_t = x + t * x_stride (t < inputs): float32 weight rows
// times a decode batch. Each output is bit-identical to dot_f32(x_t, row_r, n),
// so a row gives the same numbers whether its inputs come one at a time or in
// a batch; a row's loads are shared by up to kMaxDotInputs inputs.
inline constexpr int kMaxDotInputs = 4;
void dot_rows_inputs_f32(const float* w, int64_t rows, const float* x, int64_t x_stride, int64_t inputs, int64_t n,
                         float* y, int64_t y_stride);
void dot_rows_inputs_f32_at(SimdLevel level, const float* w, int64_t rows, const float* x, int64_t x_stride,
                            int64_t inputs, int64_t n, float* y, int64_t y_stride);

// The implementations, callable directly (tests compare each with portable).
float dot_f32_at(SimdLevel level, const float* a, const float* b, int64_t n);
float dot_bf16_f32_at(SimdLevel level, const uint8_t* w, const float* x, int64_t n);

}  // namespace frugal
