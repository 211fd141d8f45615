#pragma once
// FP8 E4M3 weights (DeepSeek-V3's release) decoded to float32 a row at a
// time, with their block multipliers applied. An E4M3 code's bits, shifted
// into an IEEE half's exponent and mantissa fields, are that half times
// 2^-8 exactly (normals and subnormals alike: the exponent biases are 7 and
// 15), so the SIMD paths widen 16 codes with one half-to-float conversion.
#include <cstdint>

#include "frugal/core/cpu_features.h"

namespace frugal {

// out[c] = e4m3(codes[c]) * scales[c / block_cols], c < cols. NaN codes
// (0x7F, 0xFF) decode as NaN on the portable path only: checkpoints have none.
void decode_fp8_e4m3_row(const uint8_t* codes, int64_t cols, const float* scales, int block_cols, float* out);
void decode_fp8_e4m3_row_at(SimdLevel level, const uint8_t* codes, int64_t cols, const float* scales, int block_cols,
                            float* out);

}  // namespace frugal
