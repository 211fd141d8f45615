#pragma once
// What this CPU can run, detected once at run time (cpuid + the OS's xgetbv
// for the AVX register state), so one binary picks the best kernels on every
// x86-64 machine. FRUGAL_CPU=portable|avx2|avx512 caps the level, for tests
// that compare every path against the portable one and for benchmarks.
#include <string>

namespace frugal {

enum class SimdLevel { Portable = 0, Avx2 = 1, Avx512 = 2 };

struct CpuFeatures {
  bool avx2 = false;         // with FMA and F16C
  bool avx512 = false;       // F, BW, VL, DQ
  bool avx512_vnni = false;  // int8 dot products (vpdpbusd)
  bool avx512_bf16 = false;  // bf16 dot products (vdpbf16ps)
};

// The hardware's features, independent of FRUGAL_CPU.
const CpuFeatures& cpu_features();
// The level kernels use: the best the hardware has, capped by FRUGAL_CPU
// (or set_simd_level). An unknown FRUGAL_CPU value is an error.
SimdLevel simd_level();
// Overrides the level for this process (tests); never above the hardware's.
void set_simd_level(SimdLevel level);
SimdLevel hardware_simd_level();
std::string to_string(SimdLevel level);
std::string describe_cpu();  // "avx512 (vnni, bf16)"

}  // namespace frugal
