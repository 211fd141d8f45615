#include "frugal/kernels/ops.h"

#include <algorithm>
#include <cmath>

#include "frugal/kernels/dot.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

#if defined(__x86_64__)
FRUGAL_AVX512 void axpy_avx512(float alpha, const float* x, float* y, int64_t n) {
  const __m512 a = _mm512_set1_ps(alpha);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_left(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

FRUGAL_AVX512 void silu_mul_avx512(float* gate, const float* up, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_left(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 sigmoid_denominator = _mm512_add_ps(one, exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), g)));
    _mm512_mask_storeu_ps(gate + i, m,
                          _mm512_mul_ps(_mm512_div_ps(g, sigmoid_denominator), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

FRUGAL_AVX2 void axpy_avx2(float alpha, const float* x, float* y, int64_t n) {
  const __m256 a = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = std::fma(alpha, x[i], y[i]);
}

FRUGAL_AVX2 __m256 silu_mul_avx2_vector(__m256 g, __m256 u) {
  const __m256 denominator = _mm256_add_ps(_mm256_set1_ps(1.0f), exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), g)));
  return _mm256_mul_ps(_mm256_div_ps(g, denominator), u);
}

FRUGAL_AVX2 void silu_mul_avx2(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(gate + i, silu_mul_avx2_vector(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i < n) {  // the tail through a padded vector
    float g[8] = {}, u[8] = {};
    std::copy_n(gate + i, n - i, g);
    std::copy_n(up + i, n - i, u);
    _mm256_storeu_ps(g, silu_mul_avx2_vector(_mm256_loadu_ps(g), _mm256_loadu_ps(u)));
    std::copy_n(g, n - i, gate + i);
  }
}

FRUGAL_AVX2 void exp_in_place_avx2(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp_avx2(_mm256_loadu_ps(x + i)));
  if (i < n) {
    float v[8] = {};
    std::copy_n(x + i, n - i, v);
    _mm256_storeu_ps(v, exp_avx2(_mm256_loadu_ps(v)));
    std::copy_n(v, n - i, x + i);
  }
}

FRUGAL_AVX512 void exp_in_place_avx512(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_left(n - i);
    _mm512_mask_storeu_ps(x + i, m, exp_avx512(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

// dst = x * inv * weight, 16 values a step.
FRUGAL_AVX512 void scale_by_weight_avx512(const float* x, float inv, const float* weight, float* dst, int64_t n) {
  const __m512 v_inv = _mm512_set1_ps(inv);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_left(n - i);
    _mm512_mask_storeu_ps(dst + i, m,
                          _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), v_inv),
                                        _mm512_maskz_loadu_ps(m, weight + i)));
  }
}

FRUGAL_AVX2 void scale_by_weight_avx2(const float* x, float inv, const float* weight, float* dst, int64_t n) {
  const __m256 v_inv = _mm256_set1_ps(inv);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), v_inv), _mm256_loadu_ps(weight + i)));
  for (; i < n; ++i) dst[i] = x[i] * inv * weight[i];
}

FRUGAL_AVX512 float max_avx512(const float* x, int64_t n) {
  __m512 best = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16)
    best = _mm512_max_ps(best, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lanes_left(n - i), x + i));
  return _mm512_reduce_max_ps(best);
}

// x = e^(x - shift), returning the sum.
FRUGAL_AVX512 float exp_shifted_avx512(float* x, float shift, int64_t n) {
  const __m512 v_shift = _mm512_set1_ps(shift);
  __m512 total = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_left(n - i);
    const __m512 e = _mm512_maskz_mov_ps(m, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), v_shift)));
    _mm512_mask_storeu_ps(x + i, m, e);
    total = _mm512_add_ps(total, e);
  }
  return _mm512_reduce_add_ps(total);
}

FRUGAL_AVX512 void scale_avx512(float* x, float factor, int64_t n) {
  const __m512 f = _mm512_set1_ps(factor);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_left(n - i);
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), f));
  }
}

// 8 pairs a step: each pair's cos and sin duplicated into both its lanes,
// the pair swapped, and the sine signed (-, +): z' = z cos + swap(z) (-+sin).
FRUGAL_AVX512 void rope_interleaved_avx512(float* z, const float* cos, const float* sin, int64_t dim) {
  const __m512i pair_of_lane = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m512 signs = _mm512_setr_ps(-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1);
  for (int64_t i = 0; i < dim; i += 16) {
    const __mmask16 m = lanes_left(dim - i);
    const auto half = static_cast<__mmask8>(m == 0xFFFF ? 0xFF : (1u << ((dim - i) / 2)) - 1);
    const __m512 c = _mm512_permutexvar_ps(pair_of_lane, _mm512_castps256_ps512(_mm256_maskz_loadu_ps(half, cos + i / 2)));
    const __m512 s = _mm512_mul_ps(
        _mm512_permutexvar_ps(pair_of_lane, _mm512_castps256_ps512(_mm256_maskz_loadu_ps(half, sin + i / 2))), signs);
    const __m512 v = _mm512_maskz_loadu_ps(m, z + i);
    _mm512_mask_storeu_ps(z + i, m, _mm512_fmadd_ps(_mm512_permute_ps(v, 0xB1), s, _mm512_mul_ps(v, c)));
  }
}

FRUGAL_AVX2 void rope_interleaved_avx2(float* z, const float* cos, const float* sin, int64_t dim) {
  const __m256i pair_of_lane = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
  const __m256 signs = _mm256_setr_ps(-1, 1, -1, 1, -1, 1, -1, 1);
  int64_t i = 0;
  for (; i + 8 <= dim; i += 8) {
    const __m256 c = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(cos + i / 2)), pair_of_lane);
    const __m256 s = _mm256_mul_ps(_mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(sin + i / 2)), pair_of_lane), signs);
    const __m256 v = _mm256_loadu_ps(z + i);
    _mm256_storeu_ps(z + i, _mm256_fmadd_ps(_mm256_permute_ps(v, 0xB1), s, _mm256_mul_ps(v, c)));
  }
  for (; i + 1 < dim; i += 2) {
    const float a = z[i], b = z[i + 1];
    z[i] = a * cos[i / 2] - b * sin[i / 2];
    z[i + 1] = a * sin[i / 2] + b * cos[i / 2];
  }
}
#endif

}  // namespace

float dot(const float* a, const float* b, int64_t n) { return dot_f32(a, b, n); }

void axpy_at(SimdLevel level, float alpha, const float* x, float* y, int64_t n) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    axpy_avx512(alpha, x, y, n);
    return;
  }
  if (level == SimdLevel::Avx2) {
    axpy_avx2(alpha, x, y, n);
    return;
  }
#endif
  (void)level;
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void axpy(float alpha, const float* x, float* y, int64_t n) { axpy_at(simd_level(), alpha, x, y, n); }

void rms_norm_at(SimdLevel level, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                 float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * dim;
    float* dst = out + r * dim;
    const float mean_square = dot_f32_at(level, row, row, dim) / static_cast<float>(dim);
    const float inv = 1.0f / std::sqrt(mean_square + eps);
#if defined(__x86_64__)
    if (level == SimdLevel::Avx512) {
      scale_by_weight_avx512(row, inv, weight, dst, dim);
      continue;
    }
    if (level == SimdLevel::Avx2) {
      scale_by_weight_avx2(row, inv, weight, dst, dim);
      continue;
    }
#endif
    for (int64_t i = 0; i < dim; ++i) dst[i] = row[i] * inv * weight[i];
  }
}

void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out) {
  rms_norm_at(simd_level(), x, weight, rows, dim, eps, out);
}

void silu_mul_at(SimdLevel level, float* gate, const float* up, int64_t n) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    silu_mul_avx512(gate, up, n);
    return;
  }
  if (level == SimdLevel::Avx2) {
    silu_mul_avx2(gate, up, n);
    return;
  }
#endif
  (void)level;
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void silu_mul(float* gate, const float* up, int64_t n) { silu_mul_at(simd_level(), gate, up, n); }

void exp_in_place_at(SimdLevel level, float* x, int64_t n) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    exp_in_place_avx512(x, n);
    return;
  }
  if (level == SimdLevel::Avx2) {
    exp_in_place_avx2(x, n);
    return;
  }
#endif
  (void)level;
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

void exp_in_place(float* x, int64_t n) { exp_in_place_at(simd_level(), x, n); }

void softmax_at(SimdLevel level, float* x, int64_t n) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    scale_avx512(x, 1.0f / exp_shifted_avx512(x, max_avx512(x, n), n), n);
    return;
  }
#endif
  float max_value = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max_value = x[i] > max_value ? x[i] : max_value;
  for (int64_t i = 0; i < n; ++i) x[i] -= max_value;
  exp_in_place_at(level, x, n);  // AVX2's vector exp, or std::exp
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void softmax(float* x, int64_t n) { softmax_at(simd_level(), x, n); }

void rope_interleaved_at(SimdLevel level, float* z, const float* cos, const float* sin, int64_t dim) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    rope_interleaved_avx512(z, cos, sin, dim);
    return;
  }
  if (level == SimdLevel::Avx2) {
    rope_interleaved_avx2(z, cos, sin, dim);
    return;
  }
#endif
  for (int64_t i = 0; i < dim / 2; ++i) {
    const float a = z[2 * i], b = z[2 * i + 1];
    z[2 * i] = a * cos[i] - b * sin[i];
    z[2 * i + 1] = a * sin[i] + b * cos[i];
  }
}

void rope_interleaved(float* z, const float* cos, const float* sin, int64_t dim) {
  rope_interleaved_at(simd_level(), z, cos, sin, dim);
}

}  // namespace frugal
