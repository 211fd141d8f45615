#include "frugal/train/norm.h"

#include <cmath>

namespace frugal {

void rms_norm_forward(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out,
                      NormTape& tape, int64_t ldx) {
  if (ldx == 0) ldx = dim;
  tape.input.resize(static_cast<std::size_t>(rows * dim));
  tape.inv_rms.resize(static_cast<std::size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * ldx;
    float* kept = tape.input.data() + r * dim;
    double sum_squares = 0.0;
    for (int64_t j = 0; j < dim; ++j) {
      kept[j] = row[j];
      sum_squares += static_cast<double>(row[j]) * row[j];
    }
    const float inv_rms = static_cast<float>(1.0 / std::sqrt(sum_squares / dim + eps));
    tape.inv_rms[r] = inv_rms;
    for (int64_t j = 0; j < dim; ++j) out[r * dim + j] = kept[j] * inv_rms * weight[j];
  }
}

void rms_norm_backward(const float* dy, const float* weight, const NormTape& tape, int64_t dim, float* dx,
                       float* dweight, bool accumulate, int64_t lddx) {
  if (lddx == 0) lddx = dim;
  const int64_t rows = static_cast<int64_t>(tape.inv_rms.size());
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = tape.input.data() + r * dim;
    const float* g = dy + r * dim;
    const float inv_rms = tape.inv_rms[r];
    // dx = r (g w) - x r^3 / dim * sum(g w x)
    double projection = 0.0;
    for (int64_t j = 0; j < dim; ++j) {
      projection += static_cast<double>(g[j]) * weight[j] * x[j];
      dweight[j] += g[j] * x[j] * inv_rms;
    }
    const float correction = static_cast<float>(projection / dim) * inv_rms * inv_rms * inv_rms;
    float* out = dx + r * lddx;
    for (int64_t j = 0; j < dim; ++j) {
      const float v = inv_rms * g[j] * weight[j] - x[j] * correction;
      out[j] = accumulate ? out[j] + v : v;
    }
  }
}

}  // namespace frugal
