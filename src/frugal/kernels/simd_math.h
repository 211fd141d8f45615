#pragma once
// Vector maths for the AVX-512 and AVX2 kernels, inline so that each
// kernel's loop keeps it in registers.
#include <cstdint>

#include "frugal/kernels/intrinsics.h"

#if defined(__x86_64__)
#define FRUGAL_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define FRUGAL_AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define FRUGAL_AVX2 __attribute__((target("avx2,fma")))

namespace frugal {

FRUGAL_AVX512 inline __mmask16 lanes_left(int64_t remaining) {
  if (remaining >= 16) return 0xFFFF;
  return remaining <= 0 ? 0 : static_cast<__mmask16>((1u << remaining) - 1);
}

// e^x: x = n ln2 + f with |f| <= ln2/2, e^f by its Taylor polynomial to
// degree 7 (truncation error below 1e-8 relative), times 2^n by scalef.
// Inputs are clamped to [-104, 88.7], where e^x is 0 or finite in float.
FRUGAL_AVX512 inline __m512 exp_avx512(__m512 x) {
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.72f)), _mm512_set1_ps(-104.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);  // ln2 in two parts: n * high is exact
  f = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), f);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  for (const float c : {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f})
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c));
  return _mm512_scalef_ps(p, n);
}

// The lane sums of four vectors: lane i is added to lane i + 8, then i + 4,
// i + 2 and i + 1, each vector on its own, so every sum is what
// reduce_add_avx512 gives for that vector alone, bit for bit, while the
// shuffles are shared four ways.
FRUGAL_AVX512 inline __m128 reduce_add4_avx512(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
  const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
  // [a, b, c, d] by 128-bit lane, each lane holding its vector's 4 partial sums
  const __m512 quarters = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
  const __m512 halves = _mm512_add_ps(quarters, _mm512_permute_ps(quarters, _MM_SHUFFLE(1, 0, 3, 2)));
  const __m512 sums = _mm512_add_ps(halves, _mm512_permute_ps(halves, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), sums));
}

// y[t * y_stride + r] = the lane sum of acc[r][t], four sums per shuffle
// tree (each bit-identical to reduce_add4_avx512's for that vector).
template <int R, int T>
FRUGAL_AVX512 inline void store_lane_sums_avx512(const __m512 (&acc)[R][T], float* y, int64_t y_stride) {
  __m512 totals[R * T + 3];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) totals[r * T + t] = acc[r][t];
  for (int j = R * T; j < R * T + 3; ++j) totals[j] = _mm512_setzero_ps();
  for (int j = 0; j < R * T; j += 4) {
    float sums[4];
    _mm_storeu_ps(sums, reduce_add4_avx512(totals[j], totals[j + 1], totals[j + 2], totals[j + 3]));
    for (int q = 0; q < 4 && j + q < R * T; ++q) y[((j + q) % T) * y_stride + (j + q) / T] = sums[q];
  }
}

FRUGAL_AVX512 inline float reduce_add_avx512(__m512 v) {
  const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_permute_ps(s4, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm_cvtss_f32(_mm_add_ps(s2, _mm_permute_ps(s2, _MM_SHUFFLE(2, 3, 0, 1))));
}

// e^x with AVX2: the same range reduction and polynomial as exp_avx512; 2^n
// is built in the exponent bits, so inputs are clamped to [-87.3, 88.7], and
// inputs below -87.3 (results under ~1e-38; -inf) give exactly 0, as a
// masked-out token's probability must.
FRUGAL_AVX2 inline __m256 exp_avx2(__m256 x) {
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33f), _CMP_LT_OQ);
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.72f)), _mm256_set1_ps(-87.33f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 f = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  f = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), f);
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  for (const float c : {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f})
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(c));
  // n in [-126, 128]: 2^n as float bits; 2^128 overflows to inf only past 88.72.
  const __m256i n_int = _mm256_cvtps_epi32(n);
  const __m256i low = _mm256_max_epi32(n_int, _mm256_set1_epi32(-126));
  const __m256 two_n = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(low, _mm256_set1_epi32(127)), 23));
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, two_n));
}

}  // namespace frugal
#endif
