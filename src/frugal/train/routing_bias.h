#pragma once
// DeepSeek-V3's auxiliary-loss-free load balancing (spec 8): after each step,
// every MoE layer's e_score_correction_bias moves by gamma against its
// expert's load: b_i <- b_i + gamma * sign(mean_j load_j - load_i).
#include <cstdint>
#include <utility>
#include <vector>

#include "frugal/train/parameters.h"

namespace frugal {

// `loads`: per MoE layer (checkpoint layer index), tokens routed to each
// expert in the step. Layers without a correction bias are skipped.
void update_routing_bias(ParameterStore& store, const std::vector<std::pair<int, std::vector<int64_t>>>& loads,
                         double gamma);

}  // namespace frugal
