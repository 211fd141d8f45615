#pragma once
// The golden variants under tests/data/golden (copied from shared/golden)
// with the tolerances their MANIFEST.md states for a float32 engine.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace frugal::test {

struct GoldenVariant {
  std::string name;
  float logits_abs;       // max abs diff of logits
  float mtp_logits_abs;   // 0 when the variant has no MTP
  float hidden_rel;       // max abs diff / max abs of the golden tensor
  float routing_weight_abs;
};

inline const std::vector<GoldenVariant>& golden_variants() {
  static const std::vector<GoldenVariant> variants = {
      {"v3-tiny", 3.4e-5f, 4.0e-5f, 5.1e-6f, 3.4e-6f},
      {"v3-tiny-fp8", 4.6e-5f, 4.1e-5f, 5.6e-6f, 3.3e-6f},
      {"v2-lite-tiny", 2.7e-5f, 0.0f, 4.2e-6f, 3.4e-6f},
      {"v2-tiny", 8.8e-5f, 0.0f, 1.1e-5f, 9.6e-5f},
  };
  return variants;
}

inline std::string golden_dir(const std::string& variant) { return data_path("golden/" + variant); }

inline std::vector<std::vector<int32_t>> golden_sequences(const std::string& variant) {
  const auto root = nlohmann::json::parse(read_bytes(golden_dir(variant) + "/inputs.json"));
  return root["sequences"].get<std::vector<std::vector<int32_t>>>();
}

}  // namespace frugal::test
