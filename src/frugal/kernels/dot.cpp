#include "frugal/kernels/dot.h"

#include <algorithm>
#include <cstring>

#include "frugal/core/error.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

float dot_f32_portable(const float* a, const float* b, int64_t n) {
  // Eight independent partial sums let the compiler vectorise the loop.
  float partial[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) partial[j] += a[i + j] * b[i + j];
  float sum = 0.0f;
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum + ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

float bf16_at(const uint8_t* w, int64_t i) {
  uint16_t bits;
  std::memcpy(&bits, w + 2 * i, 2);
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float dot_bf16_f32_portable(const uint8_t* w, const float* x, int64_t n) {
  float partial[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) partial[j] += bf16_at(w, i + j) * x[i + j];
  float sum = 0.0f;
  for (; i < n; ++i) sum += bf16_at(w, i) * x[i];
  return sum + ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

#if defined(__x86_64__)

__attribute__((target("avx2,fma"))) float hsum256(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

__attribute__((target("avx2,fma"))) float dot_f32_avx2(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  float sum = hsum256(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// 8 BF16 values -> 8 floats: zero-extend to 32 bits, shift into the high half.
__attribute__((target("avx2,fma"))) __m256 widen_bf16_avx2(const uint8_t* w) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

__attribute__((target("avx2,fma"))) float dot_bf16_f32_avx2(const uint8_t* w, const float* x, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(widen_bf16_avx2(w + 2 * i), _mm256_loadu_ps(x + i), s0);
    s1 = _mm256_fmadd_ps(widen_bf16_avx2(w + 2 * i + 16), _mm256_loadu_ps(x + i + 8), s1);
  }
  float sum = hsum256(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) sum += bf16_at(w, i) * x[i];
  return sum;
}



// One step of dot_block_f32_avx512: 32 values from i into s0 and s1, the
// lanes that the masks leave off (past n, in the last step) read as zero.
template <int R, int T>
FRUGAL_AVX512 __attribute__((always_inline)) inline void dot_step_avx512(const float* w, const float* x,
                                                                         int64_t x_stride, int64_t n, int64_t i,
                                                                         __mmask16 m0, __mmask16 m1,
                                                                         __m512 (&s0)[R][T], __m512 (&s1)[R][T]) {
  __m512 r0[R], r1[R];
  for (int k = 0; k < R; ++k) {
    r0[k] = _mm512_maskz_loadu_ps(m0, w + k * n + i);
    r1[k] = _mm512_maskz_loadu_ps(m1, w + k * n + i + 16);
  }
  for (int t = 0; t < T; ++t) {
    __m512 x0 = _mm512_maskz_loadu_ps(m0, x + t * x_stride + i);
    __m512 x1 = _mm512_maskz_loadu_ps(m1, x + t * x_stride + i + 16);
    // Keep the inputs in registers: folded into each row's FMA as memory
    // operands they would be loaded R times, and loads, not FMAs, bound the
    // loop (measured: 27 GMAC/s with the folded loads, 36-42 without).
    asm("" : "+v"(x0), "+v"(x1));
    for (int k = 0; k < R; ++k) {
      s0[k][t] = _mm512_fmadd_ps(x0, r0[k], s0[k][t]);
      s1[k][t] = _mm512_fmadd_ps(x1, r1[k], s1[k][t]);
    }
  }
}

// y[t * y_stride + k] = row_k . x_t for R consecutive rows (row_k = w + k * n)
// and T inputs x_t = x + t * x_stride. Every product takes the same steps
// whatever R and T are (dot_f32_avx512 is the case R = T = 1), so a row gives
// bit-identical results alone or in a batch: 32 values per step into two
// accumulators (the last step masked), their sum, then the lane tree of
// reduce_add4_avx512. Every row load serves T inputs and every input load R
// rows; the R x T sums are reduced four at a time.
template <int R, int T>
FRUGAL_AVX512 void dot_block_f32_avx512(const float* w, const float* x, int64_t x_stride, int64_t n, float* y,
                                        int64_t y_stride) {
  __m512 s0[R][T], s1[R][T];
  for (int k = 0; k < R; ++k)
    for (int t = 0; t < T; ++t) s0[k][t] = s1[k][t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 32)
    dot_step_avx512<R, T>(w, x, x_stride, n, i, lanes_left(n - i), lanes_left(n - i - 16), s0, s1);
  if constexpr (R * T == 1) {
    y[0] = reduce_add_avx512(_mm512_add_ps(s0[0][0], s1[0][0]));
  } else {
    __m512 totals[R * T + 3];
    for (int k = 0; k < R; ++k)
      for (int t = 0; t < T; ++t) totals[k * T + t] = _mm512_add_ps(s0[k][t], s1[k][t]);
    for (int j = R * T; j < R * T + 3; ++j) totals[j] = _mm512_setzero_ps();
    for (int j = 0; j < R * T; j += 4) {
      float sums[4];
      _mm_storeu_ps(sums, reduce_add4_avx512(totals[j], totals[j + 1], totals[j + 2], totals[j + 3]));
      for (int q = 0; q < 4 && j + q < R * T; ++q) y[(j + q) % T * y_stride + (j + q) / T] = sums[q];
    }
  }
}

FRUGAL_AVX512 float dot_f32_avx512(const float* a, const float* b, int64_t n) {
  float out;
  dot_block_f32_avx512<1, 1>(b, a, 0, n, &out, 0);
  return out;
}

// Rows [0, rows) of w (row r at w + r * n) times T inputs, R rows at a time:
// y[t * y_stride + r] = row_r . x_t. (One row by eight inputs measured no
// faster than two passes of two rows by four.)
template <int T>
FRUGAL_AVX512 void dot_rows_inputs_f32_avx512(const float* w, int64_t rows, const float* x, int64_t x_stride,
                                              int64_t n, float* y, int64_t y_stride) {
  constexpr int R = 2;
  int64_t r = 0;
  for (; r + R <= rows; r += R) dot_block_f32_avx512<R, T>(w + r * n, x, x_stride, n, y + r, y_stride);
  for (; r < rows; ++r) dot_block_f32_avx512<1, T>(w + r * n, x, x_stride, n, y + r, y_stride);
}

FRUGAL_AVX512 __m512 widen_bf16_avx512(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// R rows at once, one accumulator per row, the same steps for every R: a row
// gets bit-identical results whether it is computed alone or in a group, so
// the way threads split rows never changes the numbers. While it works on a
// group it prefetches the same cache line of the next group into L2: each
// row of a 2048-wide BF16 matrix is a 4 KiB page of its own, and hardware
// prefetchers do not cross pages.
template <int R>
FRUGAL_AVX512 void dot_rows_bf16_avx512(const uint8_t* w, std::size_t stride,
                                                                                const float* x, int64_t n,
                                                                                float* out) {
  __m512 sum[R];
  for (int k = 0; k < R; ++k) sum[k] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    if (R > 1 && (i & 31) == 0)
      for (int k = 0; k < R; ++k) _mm_prefetch(reinterpret_cast<const char*>(w + (R + k) * stride + 2 * i), _MM_HINT_T1);
    const __m512 xv = _mm512_loadu_ps(x + i);
    for (int k = 0; k < R; ++k)
      sum[k] = _mm512_fmadd_ps(
          widen_bf16_avx512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k * stride + 2 * i))), xv, sum[k]);
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
    for (int k = 0; k < R; ++k)
      sum[k] = _mm512_fmadd_ps(widen_bf16_avx512(_mm256_maskz_loadu_epi16(m, w + k * stride + 2 * i)), xv, sum[k]);
  }
  for (int k = 0; k < R; ++k) out[k] = _mm512_reduce_add_ps(sum[k]);
}

FRUGAL_AVX512 float dot_bf16_f32_avx512(const uint8_t* w, const float* x,
                                                                                int64_t n) {
  float out;
  dot_rows_bf16_avx512<1>(w, 0, x, n, &out);
  return out;
}

#endif

}  // namespace

void dot4_bf16_f32_at(SimdLevel level, const uint8_t* w, std::size_t stride, const float* x, int64_t n, float* out) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    dot_rows_bf16_avx512<4>(w, stride, x, n, out);
    return;
  }
#endif
  for (int k = 0; k < 4; ++k) out[k] = dot_bf16_f32_at(level, w + k * stride, x, n);
}

void dot_rows_inputs_f32_at(SimdLevel level, const float* w, int64_t rows, const float* x, int64_t x_stride,
                            int64_t inputs, int64_t n, float* y, int64_t y_stride) {
  // Tiles of rows stay in L2 while every group of inputs passes over them.
  constexpr int64_t kTileRows = 64;
  for (int64_t r0 = 0; r0 < rows; r0 += kTileRows) {
    const int64_t tile = std::min(kTileRows, rows - r0);
    const float* w_tile = w + r0 * n;
    for (int64_t t0 = 0; t0 < inputs; t0 += kMaxDotInputs) {
      const int64_t group = std::min<int64_t>(kMaxDotInputs, inputs - t0);
      const float* x_group = x + t0 * x_stride;
      float* y_group = y + t0 * y_stride + r0;
#if defined(__x86_64__)
      if (level == SimdLevel::Avx512) {
        switch (group) {
          case 1: dot_rows_inputs_f32_avx512<1>(w_tile, tile, x_group, x_stride, n, y_group, y_stride); break;
          case 2: dot_rows_inputs_f32_avx512<2>(w_tile, tile, x_group, x_stride, n, y_group, y_stride); break;
          case 3: dot_rows_inputs_f32_avx512<3>(w_tile, tile, x_group, x_stride, n, y_group, y_stride); break;
          default: dot_rows_inputs_f32_avx512<4>(w_tile, tile, x_group, x_stride, n, y_group, y_stride); break;
        }
        continue;
      }
#endif
      for (int64_t r = 0; r < tile; ++r)
        for (int64_t t = 0; t < group; ++t)
          y_group[t * y_stride + r] = dot_f32_at(level, x_group + t * x_stride, w_tile + r * n, n);
    }
  }
}

void dot_rows_inputs_f32(const float* w, int64_t rows, const float* x, int64_t x_stride, int64_t inputs, int64_t n,
                         float* y, int64_t y_stride) {
  dot_rows_inputs_f32_at(simd_level(), w, rows, x, x_stride, inputs, n, y, y_stride);
}

void dot4_bf16_f32(const uint8_t* w, std::size_t stride, const float* x, int64_t n, float* out) {
  dot4_bf16_f32_at(simd_level(), w, stride, x, n, out);
}

float dot_f32_at(SimdLevel level, const float* a, const float* b, int64_t n) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) return dot_f32_avx512(a, b, n);
  if (level == SimdLevel::Avx2) return dot_f32_avx2(a, b, n);
#endif
  (void)level;
  return dot_f32_portable(a, b, n);
}

float dot_bf16_f32_at(SimdLevel level, const uint8_t* w, const float* x, int64_t n) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) return dot_bf16_f32_avx512(w, x, n);
  if (level == SimdLevel::Avx2) return dot_bf16_f32_avx2(w, x, n);
#endif
  (void)level;
  return dot_bf16_f32_portable(w, x, n);
}

float dot_f32(const float* a, const float* b, int64_t n) { return dot_f32_at(simd_level(), a, b, n); }

float dot_bf16_f32(const uint8_t* w, const float* x, int64_t n) { return dot_bf16_f32_at(simd_level(), w, x, n); }

}  // namespace frugal

