#pragma once
// 8-bit weights: each row cut into blocks of 32 values, stored as int8 in
// [-127, 127] with one float32 scale per block (9 bits per weight). A
// WeightMatrix in this format has dtype I8 and 1 x 32 block scales, the same
// fields FP8 weights use. Activations are quantised the same way on the fly,
// once per input row, so a dot product is integer multiply-adds per block
// (AVX-512 VNNI's vpdpbusd) times the two block scales.
#include <cstdint>

#include "frugal/core/cpu_features.h"
#include "frugal/kernels/weight_matrix.h"

namespace frugal {

inline constexpr int kQ8Block = 32;

// q[i] = round(x[i] / s_b) (half away from zero), s_b = max|x in block b| / 127
// (0 for an all-zero block).
void quantize_q8(const float* x, int64_t n, int8_t* q, float* scales);
void quantize_q8_at(SimdLevel level, const float* x, int64_t n, int8_t* q, float* scales);

// sum_b scales_w[b] * scales_x[b] * sum_{i in b} w[i] x[i]; n a multiple of 32.
float dot_q8(const int8_t* w, const float* w_scales, const int8_t* x, const float* x_scales, int64_t n);
float dot_q8_at(SimdLevel level, const int8_t* w, const float* w_scales, const int8_t* x, const float* x_scales,
                int64_t n);

// y[t * y_stride + r] = dot_q8(row r, input t) for the rows w + r * n (block
// scales at w_scales + r * w_scale_stride) and the inputs x + t * n (scales
// x_scales + t * n / 32), t < inputs: each bit-identical to dot_q8, with every
// weight load shared by 4 inputs and every input load by 2 rows (prefill).
void dot_q8_rows_inputs(const int8_t* w, const float* w_scales, int64_t w_scale_stride, int64_t rows, const int8_t* x,
                        const float* x_scales, int64_t inputs, int64_t n, float* y, int64_t y_stride);
void dot_q8_rows_inputs_at(SimdLevel level, const int8_t* w, const float* w_scales, int64_t w_scale_stride,
                           int64_t rows, const int8_t* x, const float* x_scales, int64_t inputs, int64_t n, float* y,
                           int64_t y_stride);

// Whether a matrix can be stored as Q8 (columns a multiple of the block).
bool q8_applicable(const WeightMatrix& w);
// The matrix converted to Q8 (rows quantised in parallel from any stored
// format), with 16 rows interleaved (q8_interleaved.h) when `interleave` is
// set and the rows are a multiple of 16.
WeightMatrix to_q8(const WeightMatrix& w, bool interleave = true);

}  // namespace frugal
