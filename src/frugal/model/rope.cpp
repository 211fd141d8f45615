#include "frugal/model/rope.h"

#include <algorithm>
#include <cmath>

namespace frugal {
namespace {

// The pair index whose wavelength fits `turns` rotations in the original context.
double yarn_correction_dim(double turns, int dim, double base, int original_length) {
  return dim * std::log(original_length / (turns * 2.0 * M_PI)) / (2.0 * std::log(base));
}

}  // namespace

RotaryEmbedding::RotaryEmbedding(const Config& config) {
  const int dim = config.qk_rope_head_dim;
  const double base = config.rope_theta;
  const RopeScaling& scaling = config.rope_scaling;
  inv_freq_.resize(static_cast<std::size_t>(dim / 2));
  for (int i = 0; i < dim / 2; ++i) inv_freq_[i] = std::pow(base, -2.0 * i / dim);

  if (scaling.type == RopeScalingType::Linear) {
    for (double& f : inv_freq_) f /= scaling.factor;
  } else if (scaling.type == RopeScalingType::Yarn) {
    const int original = scaling.original_max_position_embeddings;
    const double low = std::max(
        std::floor(yarn_correction_dim(scaling.beta_fast, dim, base, original)), 0.0);
    // Clamped to dim - 1, not dim/2 - 1: the reference formula (spec trap 15).
    double high = std::min(
        std::ceil(yarn_correction_dim(scaling.beta_slow, dim, base, original)),
        static_cast<double>(dim - 1));
    if (low == high) high += 0.001;
    for (int i = 0; i < dim / 2; ++i) {
      const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
      inv_freq_[i] = inv_freq_[i] * (1.0 - ramp) + inv_freq_[i] / scaling.factor * ramp;
    }
    attention_factor_ = yarn_mscale(scaling.factor, scaling.mscale) /
                        yarn_mscale(scaling.factor, scaling.mscale_all_dim);
  }
}

void RotaryEmbedding::angles(int64_t first, int64_t n, std::vector<float>& cos,
                             std::vector<float>& sin) const {
  const std::size_t pairs = inv_freq_.size();
  cos.resize(static_cast<std::size_t>(n) * pairs);
  sin.resize(cos.size());
  for (int64_t t = 0; t < n; ++t) {
    for (std::size_t i = 0; i < pairs; ++i) {
      const double angle = static_cast<double>(first + t) * inv_freq_[i];
      cos[t * pairs + i] = static_cast<float>(std::cos(angle) * attention_factor_);
      sin[t * pairs + i] = static_cast<float>(std::sin(angle) * attention_factor_);
    }
  }
}

}  // namespace frugal
