#include "frugal/kernels/dot.h"

#include <cstring>

#include "frugal/core/error.h"
#include "frugal/kernels/intrinsics.h"

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

__attribute__((target("avx512f,avx512bw,avx512vl"))) float dot_f32_avx512(const float* a, const float* b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  if (i + 16 <= n) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    i += 16;
  }
  if (i < n) {  // masked tail
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// out[t] = row . x_t for the T inputs x_t = x + t * x_stride, each with
// exactly dot_f32_avx512's steps (bit-identical results), sharing the row's
// loads and the loop: a decode batch multiplies every weight row by several
// inputs.
template <int T>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void dot_inputs_f32_avx512(const float* row, const float* x,
                                                                                 int64_t x_stride, int64_t n,
                                                                                 float* out) {
  __m512 s0[T], s1[T];
  for (int t = 0; t < T; ++t) s0[t] = s1[t] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 r0 = _mm512_loadu_ps(row + i), r1 = _mm512_loadu_ps(row + i + 16);
    for (int t = 0; t < T; ++t) {
      s0[t] = _mm512_fmadd_ps(_mm512_loadu_ps(x + t * x_stride + i), r0, s0[t]);
      s1[t] = _mm512_fmadd_ps(_mm512_loadu_ps(x + t * x_stride + i + 16), r1, s1[t]);
    }
  }
  if (i + 16 <= n) {
    const __m512 r0 = _mm512_loadu_ps(row + i);
    for (int t = 0; t < T; ++t) s0[t] = _mm512_fmadd_ps(_mm512_loadu_ps(x + t * x_stride + i), r0, s0[t]);
    i += 16;
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 r1 = _mm512_maskz_loadu_ps(m, row + i);
    for (int t = 0; t < T; ++t) s1[t] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + t * x_stride + i), r1, s1[t]);
  }
  for (int t = 0; t < T; ++t) out[t] = _mm512_reduce_add_ps(_mm512_add_ps(s0[t], s1[t]));
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) __m512 widen_bf16_avx512(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// R rows at once, one accumulator per row, the same steps for every R: a row
// gets bit-identical results whether it is computed alone or in a group, so
// the way threads split rows never changes the numbers. While it works on a
// group it prefetches the same cache line of the next group into L2: each
// row of a 2048-wide BF16 matrix is a 4 KiB page of its own, and hardware
// prefetchers do not cross pages.
template <int R>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void dot_rows_bf16_avx512(const uint8_t* w, std::size_t stride,
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

__attribute__((target("avx512f,avx512bw,avx512vl"))) float dot_bf16_f32_avx512(const uint8_t* w, const float* x,
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

void dot_inputs_f32_at(SimdLevel level, const float* row, const float* x, int64_t x_stride, int inputs, int64_t n,
                       float* out) {
  if (inputs < 1 || inputs > kMaxDotInputs) fail("dot_inputs_f32: ", inputs, " inputs (1-", kMaxDotInputs, ")");
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    switch (inputs) {
      case 1: dot_inputs_f32_avx512<1>(row, x, x_stride, n, out); return;
      case 2: dot_inputs_f32_avx512<2>(row, x, x_stride, n, out); return;
      case 3: dot_inputs_f32_avx512<3>(row, x, x_stride, n, out); return;
      default: dot_inputs_f32_avx512<4>(row, x, x_stride, n, out); return;
    }
  }
#endif
  for (int t = 0; t < inputs; ++t) out[t] = dot_f32_at(level, x + t * x_stride, row, n);
}

void dot_inputs_f32(const float* row, const float* x, int64_t x_stride, int inputs, int64_t n, float* out) {
  dot_inputs_f32_at(simd_level(), row, x, x_stride, inputs, n, out);
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

