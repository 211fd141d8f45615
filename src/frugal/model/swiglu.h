#pragma once
// One SwiGLU feed-forward block: (silu(x Wg^T) * (x Wu^T)) Wd^T. Dense layers,
// every routed expert and the fused shared experts are all this block.
#include <cstdint>

#include "frugal/kernels/linear.h"
#include "frugal/kernels/weight_matrix.h"

namespace frugal {

struct SwiGluWeights {
  WeightMatrix gate;  // [I, D]
  WeightMatrix up;    // [I, D]
  WeightMatrix down;  // [D, I]
};

// out[n, D] = SwiGLU(x[n, D]), from inputs prepared for gate and up.
void swiglu_forward(const SwiGluWeights& weights, const LinearInputs& in, float* out);
void swiglu_forward(const SwiGluWeights& weights, const float* x, int64_t n, float* out);

}  // namespace frugal
