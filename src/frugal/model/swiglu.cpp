#include "frugal/model/swiglu.h"

#include <vector>

#include "frugal/kernels/linear.h"
#include "frugal/kernels/ops.h"

namespace frugal {

void swiglu_forward(const SwiGluWeights& weights, const float* x, int64_t n, float* out) {
  const int64_t width = weights.gate.rows;
  std::vector<float> gate(static_cast<std::size_t>(n * width));
  std::vector<float> up(gate.size());
  linear(x, n, weights.gate, gate.data());
  linear(x, n, weights.up, up.data());
  silu_mul(gate.data(), up.data(), n * width);
  linear(gate.data(), n, weights.down, out);
}

}  // namespace frugal
