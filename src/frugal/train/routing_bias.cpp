#include "frugal/train/routing_bias.h"

#include <numeric>
#include <string>

#include "frugal/core/error.h"

namespace frugal {

void update_routing_bias(ParameterStore& store, const std::vector<std::pair<int, std::vector<int64_t>>>& loads,
                         double gamma) {
  for (const auto& [layer, load] : loads) {
    Parameter* bias = store.find("model.layers." + std::to_string(layer) + ".mlp.gate.e_score_correction_bias");
    if (bias == nullptr) continue;
    if (load.size() != bias->value.size())
      fail("internal: layer ", layer, " has ", load.size(), " expert loads for ", bias->value.size(), " experts");
    const double mean = std::accumulate(load.begin(), load.end(), 0.0) / static_cast<double>(load.size());
    for (std::size_t e = 0; e < load.size(); ++e) {
      const double gap = mean - static_cast<double>(load[e]);
      const double sign = gap > 0 ? 1.0 : (gap < 0 ? -1.0 : 0.0);
      bias->value[e] = static_cast<float>(bias->value[e] + gamma * sign);
    }
  }
}

}  // namespace frugal
