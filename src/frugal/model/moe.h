#pragma once
// A DeepSeekMoE feed-forward layer: routed experts chosen per token by the
// router, plus always-on shared experts (fused into one wider SwiGLU).
#include <cstdint>
#include <optional>
#include <vector>

#include "frugal/model/config.h"
#include "frugal/model/router.h"
#include "frugal/model/swiglu.h"

namespace frugal {

struct MoeWeights {
  WeightMatrix router;                  // mlp.gate.weight [E, D]
  std::vector<float> correction_bias;   // [E], noaux_tc only (else empty)
  std::vector<SwiGluWeights> experts;   // E routed experts
  std::optional<SwiGluWeights> shared;  // n_shared_experts fused, if any
};

// out[n, D] = sum_k w_k SwiGLU_{id_k}(x) + SwiGLU_shared(x). Tokens are grouped
// by expert so each expert runs once as a matrix product over its tokens and
// only the selected experts' weights are read. `routing` receives the choice.
void moe_forward(const Config& config, const MoeWeights& weights, const float* x, int64_t n,
                 float* out, Routing* routing = nullptr);

}  // namespace frugal
