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

void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
              float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * dim;
    float* dst = out + r * dim;
    const float mean_square = dot(row, row, dim) / static_cast<float>(dim);
    const float inv = 1.0f / std::sqrt(mean_square + eps);
    for (int64_t i = 0; i < dim; ++i) dst[i] = row[i] * inv * weight[i];
  }
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

void softmax(float* x, int64_t n) {
  float max_value = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max_value = x[i] > max_value ? x[i] : max_value;
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void rope_interleaved(float* z, const float* cos, const float* sin, int64_t dim) {
  for (int64_t i = 0; i < dim / 2; ++i) {
    const float a = z[2 * i], b = z[2 * i + 1];
    z[2 * i] = a * cos[i] - b * sin[i];
    z[2 * i + 1] = a * sin[i] + b * cos[i];
  }
}

}  // namespace frugal
