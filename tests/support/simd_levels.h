#pragma once
// The SIMD levels this machine can run, portable first: kernel tests compare
// every level with the portable one.
#include <vector>

#include "frugal/core/cpu_features.h"

namespace frugal::test {

inline std::vector<SimdLevel> available_simd_levels() {
  std::vector<SimdLevel> levels = {SimdLevel::Portable};
  if (hardware_simd_level() >= SimdLevel::Avx2) levels.push_back(SimdLevel::Avx2);
  if (hardware_simd_level() >= SimdLevel::Avx512) levels.push_back(SimdLevel::Avx512);
  return levels;
}

}  // namespace frugal::test
