#pragma once
// Q4 weights with 16 rows interleaved (the layout to_q4 gives matrices whose
// rows are a multiple of 16): q4.h's codes 0..15 and float32 scales per
// block of 32, laid out as q8_interleaved.h lays out Q8, two codes a byte.
//
// Rows 16g .. 16g+15 form group g; per block b the group holds 256 bytes at
// (g * blocks + b) * 256, four 64-byte lines. In line q, byte 4j + m holds
// row 16g + j's value 4q + m (column 32b + 4q + m) in its low nibble and
// value 4(q + 4) + m in its high one. One AND gives dword q of all 16 rows,
// a shift and an AND dword q + 4, each against the input's dword broadcast
// in one vpdpbusd. The -8 offset leaves as 8 times the input block's sum.
// Scales: per group and block, the 16 rows' scales together.
#include <cstdint>

#include "frugal/core/cpu_features.h"

namespace frugal {

inline constexpr int kQ4InterleavedRows = 16;

// Packs rows [0, rows) (a multiple of 16) of codes (one per byte, row-major,
// as quantize_q4_codes gives them) and per-row block scales.
void interleave_q4_rows(const uint8_t* codes, const float* scales, int64_t rows, int64_t cols, uint8_t* packed,
                        float* packed_scales);
// Row r's code (0..15) at column c.
int q4_interleaved_code(const uint8_t* packed, int64_t cols, int64_t r, int64_t c);
// Row j (< 16) of the group at `group` (scales at `group_scales`) as float32.
void q4_interleaved_decode_row(const uint8_t* group, const float* group_scales, int64_t cols, int j, float* out);

// As dot_q8_interleaved (q8_interleaved.h), for Q4 groups; x_sums are the
// input blocks' code sums (q8_input_sums).
void dot_q4_interleaved(const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                        const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n, float* y,
                        int64_t y_stride);
void dot_q4_interleaved_at(SimdLevel level, const uint8_t* packed, const float* packed_scales, int64_t groups,
                           const int8_t* x, const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n,
                           float* y, int64_t y_stride);

}  // namespace frugal
