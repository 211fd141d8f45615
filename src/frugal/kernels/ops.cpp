#include "frugal/kernels/ops.h"

#include <cmath>

#include "frugal/kernels/dot.h"

namespace frugal {

float dot(const float* a, const float* b, int64_t n) { return dot_f32(a, b, n); }

void axpy(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

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

void silu_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

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
