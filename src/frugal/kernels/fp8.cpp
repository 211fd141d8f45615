#include "frugal/kernels/fp8.h"

#include "frugal/core/dtype.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

void decode_portable(const uint8_t* codes, int64_t cols, const float* scales, int block_cols, float* out) {
  for (int64_t c = 0; c < cols; ++c) out[c] = fp8_e4m3_to_f32(codes[c]) * scales[c / block_cols];
}

#if defined(__x86_64__)
#define FRUGAL_AVX2_F16C __attribute__((target("avx2,fma,f16c")))

// Half bits of 16 codes: sign to bit 15, exponent and mantissa to bits 7-14.
FRUGAL_AVX2_F16C inline __m256i half_bits(__m128i codes) {
  const __m256i wide = _mm256_cvtepu8_epi16(codes);
  return _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(wide, _mm256_set1_epi16(0x7F)), 7),
                         _mm256_slli_epi16(_mm256_and_si256(wide, _mm256_set1_epi16(0x80)), 8));
}

// Blocks of a multiple of 16 columns: 16 codes never straddle two scales.
// (F16C named too, so that half_bits inlines here.)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"))) void decode_avx512(
    const uint8_t* codes, int64_t cols, const float* scales, int block_cols, float* out) {
  for (int64_t c = 0; c < cols; c += 16) {
    const __mmask16 m = lanes_left(cols - c);
    const __m512 halves = _mm512_cvtph_ps(half_bits(_mm_maskz_loadu_epi8(m, codes + c)));
    _mm512_mask_storeu_ps(out + c, m, _mm512_mul_ps(halves, _mm512_set1_ps(scales[c / block_cols] * 256.0f)));
  }
}

// Blocks of a multiple of 8 columns; a last partial vector runs portable.
FRUGAL_AVX2_F16C void decode_avx2(const uint8_t* codes, int64_t cols, const float* scales, int block_cols, float* out) {
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m256i halves = half_bits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + c)));
    _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(halves)),
                                            _mm256_set1_ps(scales[c / block_cols] * 256.0f)));
    _mm256_storeu_ps(out + c + 8, _mm256_mul_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(halves, 1)),
                                                _mm256_set1_ps(scales[(c + 8) / block_cols] * 256.0f)));
  }
  for (; c < cols; ++c) out[c] = fp8_e4m3_to_f32(codes[c]) * scales[c / block_cols];
}
#endif

}  // namespace

void decode_fp8_e4m3_row_at(SimdLevel level, const uint8_t* codes, int64_t cols, const float* scales, int block_cols,
                            float* out) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512 && block_cols % 16 == 0) {
    decode_avx512(codes, cols, scales, block_cols, out);
    return;
  }
  if (level >= SimdLevel::Avx2 && block_cols % 8 == 0) {
    decode_avx2(codes, cols, scales, block_cols, out);
    return;
  }
#endif
  (void)level;
  decode_portable(codes, cols, scales, block_cols, out);
}

void decode_fp8_e4m3_row(const uint8_t* codes, int64_t cols, const float* scales, int block_cols, float* out) {
  decode_fp8_e4m3_row_at(simd_level(), codes, cols, scales, block_cols, out);
}

}  // namespace frugal
