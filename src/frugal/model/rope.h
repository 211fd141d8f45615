#pragma once
// Rotary position embedding frequencies with YaRN (spec sections 3.3 and 5).
// Frequencies and angles are computed in double and rounded afterwards: at
// position 100 000 a float32 angle is off by ~0.004 rad.
#include <cstdint>
#include <vector>

#include "frugal/model/config.h"

namespace frugal {

class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(const Config& config);

  int pairs() const { return static_cast<int>(inv_freq_.size()); }
  const std::vector<double>& inv_freq() const { return inv_freq_; }
  // cos and sin [n, pairs] for positions first .. first + n - 1, already
  // multiplied by YaRN's attention factor mscale(f, mscale) / mscale(f, mscale_all_dim).
  void angles(int64_t first, int64_t n, std::vector<float>& cos, std::vector<float>& sin) const;

 private:
  std::vector<double> inv_freq_;
  double attention_factor_ = 1.0;
};

}  // namespace frugal
