#pragma once
// 4-bit weights: each row cut into blocks of 32 values, each value a code
// 0..15 standing for (code - 8) times the block's float32 scale (5 bits per
// weight with the scale). A WeightMatrix in this format has dtype Q4 and
// 1 x 32 block scales, like Q8.
//
// Packing: a row's blocks are taken in groups of 4 (then one group of 2 and
// one of 1 for what is left). A group of g blocks is 16 g bytes; byte i holds
// the group's value i in its low nibble and value i + 16 g in its high one, so
// one AND gives the first half of the group in order and a shift plus an AND
// the second: no shuffles to line the codes up with the inputs.
//
// Activations are quantised as for Q8 (q8.h). The -8 offset is taken out
// once per block: sum (c - 8) x = sum c x - 8 sum x, the second term being a
// per-input value (`offsets`) times the weight block's scale.
#include <cstdint>

#include "frugal/core/cpu_features.h"
#include "frugal/kernels/weight_matrix.h"

namespace frugal {

inline constexpr int kQ4Block = 32;

// Packs one row of n values (n a multiple of 32) into n / 2 bytes and n / 32
// scales. Per block: the value of largest magnitude m maps to code 0
// (scale m / -8); the scale is then refitted by least squares to the codes.
void quantize_q4_row(const float* x, int64_t n, uint8_t* packed, float* scales);
// The same codes one per byte (for other layouts: q4_interleaved.h), the
// same bits at every SIMD level (q4_quantize.cpp).
void quantize_q4_codes(const float* x, int64_t n, uint8_t* codes, float* scales);
void quantize_q4_codes_at(SimdLevel level, const float* x, int64_t n, uint8_t* codes, float* scales);
void dequantize_q4_row(const uint8_t* packed, const float* scales, int64_t n, float* out);
// The code of value i of a packed row.
int q4_code(const uint8_t* packed, int64_t n, int64_t i);

// Per input block b: 8 * x_scales[b] * sum of the block's int8 codes.
void q4_input_offsets(const int8_t* x, const float* x_scales, int64_t n, float* offsets);

// sum_b w_scales[b] x_scales[b] sum_{i in b} (code_i - 8) x_i, n a multiple of 32.
float dot_q4(const uint8_t* w, const float* w_scales, const int8_t* x, const float* x_scales, const float* x_offsets,
             int64_t n);
float dot_q4_at(SimdLevel level, const uint8_t* w, const float* w_scales, const int8_t* x, const float* x_scales,
                const float* x_offsets, int64_t n);

// y[t * y_stride + r] = dot_q4(row r, input t), each bit-identical to dot_q4,
// for rows w + r * n / 2 (scales w_scales + r * w_scale_stride) and inputs
// x + t * n (scales and offsets at t * n / 32), t < inputs.
void dot_q4_rows_inputs(const uint8_t* w, const float* w_scales, int64_t w_scale_stride, int64_t rows,
                        const int8_t* x, const float* x_scales, const float* x_offsets, int64_t inputs, int64_t n,
                        float* y, int64_t y_stride);
void dot_q4_rows_inputs_at(SimdLevel level, const uint8_t* w, const float* w_scales, int64_t w_scale_stride,
                           int64_t rows, const int8_t* x, const float* x_scales, const float* x_offsets,
                           int64_t inputs, int64_t n, float* y, int64_t y_stride);

// Whether a matrix can be stored as Q4 (columns a multiple of the block).
bool q4_applicable(const WeightMatrix& w);
// The matrix converted to Q4 (rows quantised in parallel from any stored
// format), with 16 rows interleaved (q4_interleaved.h) when `interleave` is
// set and the rows are a multiple of 16.
WeightMatrix to_q4(const WeightMatrix& w, bool interleave = true);

}  // namespace frugal
