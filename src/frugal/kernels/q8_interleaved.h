#pragma once
// Q8 weights with 16 rows interleaved (the layout to_q8 gives matrices whose
// rows are a multiple of 16): the same int8 blocks of 32 and float32 scales
// as q8.h, laid out so that one vpdpbusd multiplies 16 rows at once.
//
// Rows 16g .. 16g+15 form group g; per block b (columns 32b .. 32b+31) the
// group holds 512 bytes at (g * blocks + b) * 512: byte 4 (16 k + j) + m is
// row 16g + j, column 32b + 4k + m (k < 8, m < 4). A 64-byte load then holds
// dword k of all 16 rows, one per lane: against the input's dword k
// broadcast (a load, no shuffle), vpdpbusd adds to 16 rows' sums at once,
// and one conversion and one FMA per block serve 16 rows, where row-major
// rows need them per row and a horizontal sum. Codes are stored offset by
// +128 (unsigned, as vpdpbusd's first operand); the offset leaves as 128
// times the input block's sum. Scales: per group and block, the 16 rows'
// scales together, at (g * blocks + b) * 16 + j.
#include <cstdint>

#include "frugal/core/cpu_features.h"

namespace frugal {

inline constexpr int kQ8InterleavedRows = 16;

// Packs rows [0, rows) (rows a multiple of 16) of int8 codes and per-row block
// scales (row-major, as quantize_q8 gives them) into the interleaved layout.
void interleave_q8_rows(const int8_t* codes, const float* scales, int64_t rows, int64_t cols, uint8_t* packed,
                        float* packed_scales);
// Row r's code at column c, and its block's scale, from the packed layout.
int q8_interleaved_code(const uint8_t* packed, int64_t cols, int64_t r, int64_t c);
float q8_interleaved_scale(const float* packed_scales, int64_t cols, int64_t r, int64_t c);

// Row j (< 16) of the group at `group` (scales at `group_scales`) as float32.
void q8_interleaved_decode_row(const uint8_t* group, const float* group_scales, int64_t cols, int j, float* out);

// Per input block b: the sum of the block's int8 codes (the +128 offset's
// partner).
void q8_input_sums(const int8_t* x, int64_t n, int32_t* sums);

// y[t * y_stride + r] = sum_b w_scale(r, b) x_scales[t][b] sum_{i in b} w(r, i) x_t(i)
// for rows [0, groups * 16) of packed weights (scales at packed_scales, both
// starting at a group boundary), inputs t < inputs at x + t * n (scales and
// sums at t * n / 32); n a multiple of 32. Each result is the same bits for
// any number of inputs and any groups around it.
void dot_q8_interleaved(const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                        const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n, float* y,
                        int64_t y_stride);
void dot_q8_interleaved_at(SimdLevel level, const uint8_t* packed, const float* packed_scales, int64_t groups,
                           const int8_t* x, const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n,
                           float* y, int64_t y_stride);

}  // namespace frugal
