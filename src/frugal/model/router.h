#pragma once
// DeepSeekMoE routing (spec section 3.4): affinities from the router logits,
// group-limited top-K selection (with V3's correction bias used only for
// choosing), combine weights from the affinities.
#include <cstdint>
#include <vector>

#include "frugal/model/config.h"

namespace frugal {

struct Routing {
  int k = 0;
  std::vector<int32_t> ids;   // [n, k], descending selection score
  std::vector<float> weights;  // [n, k], aligned with ids, after normalisation and scaling
};

// Selects experts for one token from its router logits [E]. `bias` [E] is the
// e_score_correction_bias (noaux_tc only; may be null otherwise).
void select_experts(const Config& config, const float* logits, const float* bias, int32_t* ids,
                    float* weights);

// Routes n tokens given their router logits [n, E].
Routing route_tokens(const Config& config, const float* logits, int64_t n, const float* bias);

}  // namespace frugal
