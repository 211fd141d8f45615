#pragma once
// Dot products with float32 accumulation, one implementation per SIMD level
// (portable C++, AVX2+FMA, AVX-512), chosen at run time by simd_level().
// BF16 weights are widened to float32 exactly, so every level computes the
// same mathematical value; only the summation order differs.
#include <cstdint>

#include "frugal/core/cpu_features.h"

namespace frugal {

// a . b over n floats.
float dot_f32(const float* a, const float* b, int64_t n);
// w . x where w holds n BF16 values (any alignment) and x n floats.
float dot_bf16_f32(const uint8_t* w, const float* x, int64_t n);

// The implementations, callable directly (tests compare each with portable).
float dot_f32_at(SimdLevel level, const float* a, const float* b, int64_t n);
float dot_bf16_f32_at(SimdLevel level, const uint8_t* w, const float* x, int64_t n);

}  // namespace frugal
