// 4-bit quantisation of weight rows (q4.h), at every SIMD level with the
// same bits: a checkpoint converts to identical Q4 weights on any CPU.
//
// Per block of 32: the value of largest magnitude m (the first, on a tie)
// maps to code 0, so scale = m / -8; codes round half away from zero; the
// scale is then refitted by least squares to the codes, cross / square with
// cross = sum v_i (code_i - 8). That sum is taken in one fixed order, the
// one sixteen vector lanes give: lane i = fma(v_{i+16}, k_{i+16}, v_i k_i),
// then lane i + 8 is added to lane i, then i + 4, i + 2 and i + 1. A plain
// running sum would tie the result to the portable loop's order.
#include <algorithm>
#include <bit>
#include <cmath>

#include "frugal/kernels/q4.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

constexpr int kLanes = 16;

// Truncation after adding 0.5 with the value's sign: round half away from
// zero, then the offset code, clamped to 0..15.
int q4_code_of(float scaled) {
  const float rounded = scaled >= 0.0f ? scaled + 0.5f : scaled - 0.5f;
  // NaN has no integer value; x86's conversion gives INT_MIN for it, here
  // taken as the lowest code directly.
  if (std::isnan(rounded)) return 0;
  return std::clamp(static_cast<int>(std::clamp(rounded, -16.0f, 16.0f)) + 8, 0, 15);
}

// The least-squares scale for the codes: fixed summation order (header).
float refitted_scale(const float* v, const int* k) {
  float lane[kLanes];
  int square = 0;
  for (int i = 0; i < kLanes; ++i) {
    const float low = v[i] * static_cast<float>(k[i]);
    lane[i] = std::fma(v[i + kLanes], static_cast<float>(k[i + kLanes]), low);
    square += k[i] * k[i] + k[i + kLanes] * k[i + kLanes];
  }
  for (int width = kLanes / 2; width >= 1; width /= 2)
    for (int i = 0; i < width; ++i) lane[i] += lane[i + width];
  return square > 0 ? lane[0] / static_cast<float>(square) : 0.0f;
}

void quantize_q4_codes_portable(const float* x, int64_t n, uint8_t* codes, float* scales) {
  for (int64_t b = 0; b < n / kQ4Block; ++b) {
    const float* v = x + b * kQ4Block;
    float extreme = 0.0f;  // the value of largest magnitude, with its sign
    for (int i = 0; i < kQ4Block; ++i)
      if (std::fabs(v[i]) > std::fabs(extreme)) extreme = v[i];
    const float scale = extreme / -8.0f;
    const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
    int k[kQ4Block];
    for (int i = 0; i < kQ4Block; ++i) {
      const int code = q4_code_of(v[i] * inverse);
      codes[b * kQ4Block + i] = static_cast<uint8_t>(code);
      k[i] = code - 8;
    }
    scales[b] = refitted_scale(v, k);
  }
}

#if defined(__x86_64__)

// The first of the block's values whose magnitude is `largest` (0 when
// that is 0, or when the block holds only NaNs, as the portable loop).
float first_with_magnitude(const float* v, uint32_t mask_of_largest, float largest) {
  if (!(largest > 0.0f) || mask_of_largest == 0) return 0.0f;
  return v[std::countr_zero(mask_of_largest)];
}

FRUGAL_AVX512 __m512i codes_avx512(__m512 scaled) {
  const __m512 half = _mm512_castsi512_ps(_mm512_or_si512(
      _mm512_castps_si512(_mm512_set1_ps(0.5f)),
      _mm512_and_si512(_mm512_castps_si512(scaled), _mm512_set1_epi32(static_cast<int>(0x80000000u)))));
  const __m512 rounded = _mm512_add_ps(scaled, half);
  const __mmask16 nan = _mm512_cmp_ps_mask(rounded, rounded, _CMP_UNORD_Q);
  const __m512 bounded = _mm512_min_ps(_mm512_max_ps(rounded, _mm512_set1_ps(-16.0f)), _mm512_set1_ps(16.0f));
  __m512i code = _mm512_add_epi32(_mm512_cvttps_epi32(bounded), _mm512_set1_epi32(8));
  code = _mm512_min_epi32(_mm512_max_epi32(code, _mm512_setzero_si512()), _mm512_set1_epi32(15));
  return _mm512_mask_mov_epi32(code, nan, _mm512_setzero_si512());
}

FRUGAL_AVX512 void quantize_q4_codes_avx512(const float* x, int64_t n, uint8_t* codes, float* scales) {
  const __m512i eight = _mm512_set1_epi32(8);
  for (int64_t b = 0; b < n / kQ4Block; ++b) {
    const float* v = x + b * kQ4Block;
    const __m512 lo = _mm512_loadu_ps(v), hi = _mm512_loadu_ps(v + kLanes);
    const __m512 abs_lo = _mm512_abs_ps(lo), abs_hi = _mm512_abs_ps(hi);
    // max(a, b) returns b when a is NaN: NaNs never win, as in the portable loop.
    const float largest = _mm512_reduce_max_ps(_mm512_max_ps(abs_hi, _mm512_max_ps(abs_lo, _mm512_setzero_ps())));
    const __m512 target = _mm512_set1_ps(largest);
    const uint32_t mask = _mm512_cmp_ps_mask(abs_lo, target, _CMP_EQ_OQ) |
                          (static_cast<uint32_t>(_mm512_cmp_ps_mask(abs_hi, target, _CMP_EQ_OQ)) << kLanes);
    const float scale = first_with_magnitude(v, mask, largest) / -8.0f;
    const __m512 inverse = _mm512_set1_ps(scale != 0.0f ? 1.0f / scale : 0.0f);
    const __m512i code_lo = codes_avx512(_mm512_mul_ps(lo, inverse));
    const __m512i code_hi = codes_avx512(_mm512_mul_ps(hi, inverse));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + b * kQ4Block), _mm512_cvtepi32_epi8(code_lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + b * kQ4Block + kLanes), _mm512_cvtepi32_epi8(code_hi));
    const __m512i k_lo = _mm512_sub_epi32(code_lo, eight), k_hi = _mm512_sub_epi32(code_hi, eight);
    __m512 lane = _mm512_fmadd_ps(hi, _mm512_cvtepi32_ps(k_hi), _mm512_mul_ps(lo, _mm512_cvtepi32_ps(k_lo)));
    const int square = _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_mullo_epi32(k_lo, k_lo),
                                                                _mm512_mullo_epi32(k_hi, k_hi)));
    // Lanes i + 8, i + 4, i + 2, i + 1 onto lane i (the header's order).
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(lane), _mm512_extractf32x8_ps(lane, 1));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    scales[b] = square > 0 ? _mm_cvtss_f32(s1) / static_cast<float>(square) : 0.0f;
  }
}

FRUGAL_AVX2 __m256i codes_avx2(__m256 scaled) {
  const __m256 half = _mm256_or_ps(_mm256_set1_ps(0.5f), _mm256_and_ps(scaled, _mm256_set1_ps(-0.0f)));
  const __m256 rounded = _mm256_add_ps(scaled, half);
  const __m256 nan = _mm256_cmp_ps(rounded, rounded, _CMP_UNORD_Q);
  const __m256 bounded = _mm256_min_ps(_mm256_max_ps(rounded, _mm256_set1_ps(-16.0f)), _mm256_set1_ps(16.0f));
  __m256i code = _mm256_add_epi32(_mm256_cvttps_epi32(bounded), _mm256_set1_epi32(8));
  code = _mm256_min_epi32(_mm256_max_epi32(code, _mm256_setzero_si256()), _mm256_set1_epi32(15));
  return _mm256_andnot_si256(_mm256_castps_si256(nan), code);
}

// Codes 0..15 of eight int32 lanes as eight bytes.
FRUGAL_AVX2 void store_codes_avx2(__m256i code, uint8_t* out) {
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(code), _mm256_extracti128_si256(code, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(words, words));
}

FRUGAL_AVX2 void quantize_q4_codes_avx2(const float* x, int64_t n, uint8_t* codes, float* scales) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i eight = _mm256_set1_epi32(8);
  for (int64_t b = 0; b < n / kQ4Block; ++b) {
    const float* v = x + b * kQ4Block;
    __m256 part[4], magnitude[4];
    __m256 largest8 = _mm256_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      part[j] = _mm256_loadu_ps(v + 8 * j);
      magnitude[j] = _mm256_andnot_ps(sign, part[j]);
      largest8 = _mm256_max_ps(magnitude[j], largest8);  // NaNs never win
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(largest8), _mm256_extractf128_ps(largest8, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float largest = _mm_cvtss_f32(_mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1)));
    const __m256 target = _mm256_set1_ps(largest);
    uint32_t mask = 0;
    for (int j = 0; j < 4; ++j)
      mask |= static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(magnitude[j], target, _CMP_EQ_OQ))) << (8 * j);
    const float scale = first_with_magnitude(v, mask, largest) / -8.0f;
    const __m256 inverse = _mm256_set1_ps(scale != 0.0f ? 1.0f / scale : 0.0f);
    __m256 k[4];
    __m256i square = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i code = codes_avx2(_mm256_mul_ps(part[j], inverse));
      store_codes_avx2(code, codes + b * kQ4Block + 8 * j);
      const __m256i centred = _mm256_sub_epi32(code, eight);
      square = _mm256_add_epi32(square, _mm256_mullo_epi32(centred, centred));
      k[j] = _mm256_cvtepi32_ps(centred);
    }
    // Lanes 0-7 and 8-15 of the sixteen (header), then i + 8 onto i, and so on.
    const __m256 lanes_low = _mm256_fmadd_ps(part[2], k[2], _mm256_mul_ps(part[0], k[0]));
    const __m256 lanes_high = _mm256_fmadd_ps(part[3], k[3], _mm256_mul_ps(part[1], k[1]));
    const __m256 s8 = _mm256_add_ps(lanes_low, lanes_high);
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    const __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    __m128i sq4 = _mm_add_epi32(_mm256_castsi256_si128(square), _mm256_extracti128_si256(square, 1));
    sq4 = _mm_add_epi32(sq4, _mm_shuffle_epi32(sq4, 0x4E));
    const int total_square = _mm_cvtsi128_si32(_mm_add_epi32(sq4, _mm_shuffle_epi32(sq4, 0xB1)));
    scales[b] = total_square > 0 ? _mm_cvtss_f32(s1) / static_cast<float>(total_square) : 0.0f;
  }
}

#endif

}  // namespace

void quantize_q4_codes_at(SimdLevel level, const float* x, int64_t n, uint8_t* codes, float* scales) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) return quantize_q4_codes_avx512(x, n, codes, scales);
  if (level == SimdLevel::Avx2) return quantize_q4_codes_avx2(x, n, codes, scales);
#endif
  (void)level;
  quantize_q4_codes_portable(x, n, codes, scales);
}

void quantize_q4_codes(const float* x, int64_t n, uint8_t* codes, float* scales) {
  quantize_q4_codes_at(simd_level(), x, n, codes, scales);
}

}  // namespace frugal
