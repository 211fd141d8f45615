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

// out[t] = x_t . row for the `inputs` (1 to kMaxDotInputs) inputs
// x_t = x + t * x_stride (floats), each bit-identical to dot_f32(x_t, row, n):
// a row gives the same numbers whether its inputs come one at a time or in a
// batch, and its loads are shared by the inputs.
inline constexpr int kMaxDotInputs = 4;
void dot_inputs_f32(const float* row, const float* x, int64_t x_stride, int inputs, int64_t n, float* out);
void dot_inputs_f32_at(SimdLevel level, const float* row, const float* x, int64_t x_stride, int inputs, int64_t n,
                       float* out);

// The implementations, callable directly (tests compare each with portable).
float dot_f32_at(SimdLevel level, const float* a, const float* b, int64_t n);
float dot_bf16_f32_at(SimdLevel level, const uint8_t* w, const float* x, int64_t n);

}  // namespace frugal
