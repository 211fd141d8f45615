#include "frugal/core/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <string_view>

#include "frugal/core/error.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace frugal {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave) return f;
  unsigned xcr0_lo, xcr0_hi;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm_state = (xcr0_lo & 0x6) == 0x6;
  const bool zmm_state = (xcr0_lo & 0xE6) == 0xE6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = ymm_state && fma && f16c && (b & (1u << 5));
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
             avx512vl = b & (1u << 31);
  f.avx512 = f.avx2 && zmm_state && avx512f && avx512dq && avx512bw && avx512vl;
  f.avx512_vnni = f.avx512 && (c & (1u << 11));
  unsigned a1, b1, c1, d1;
  if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avx512_bf16 = f.avx512 && (a1 & (1u << 5));
#endif
  return f;
}

std::atomic<int> g_level{-1};

SimdLevel level_from_env() {
  SimdLevel level = hardware_simd_level();
  if (const char* env = std::getenv("FRUGAL_CPU")) {
    const std::string_view v(env);
    SimdLevel wanted;
    if (v == "portable") {
      wanted = SimdLevel::Portable;
    } else if (v == "avx2") {
      wanted = SimdLevel::Avx2;
    } else if (v == "avx512") {
      wanted = SimdLevel::Avx512;
    } else {
      fail("FRUGAL_CPU=", v, " is not one of portable, avx2, avx512");
    }
    if (wanted < level) level = wanted;
  }
  return level;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

SimdLevel hardware_simd_level() {
  const CpuFeatures& f = cpu_features();
  return f.avx512 ? SimdLevel::Avx512 : f.avx2 ? SimdLevel::Avx2 : SimdLevel::Portable;
}

SimdLevel simd_level() {
  int level = g_level.load(std::memory_order_relaxed);
  if (level < 0) {
    level = static_cast<int>(level_from_env());
    g_level.store(level, std::memory_order_relaxed);
  }
  return static_cast<SimdLevel>(level);
}

void set_simd_level(SimdLevel level) {
  if (level > hardware_simd_level()) level = hardware_simd_level();
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

std::string to_string(SimdLevel level) {
  switch (level) {
    case SimdLevel::Portable: return "portable";
    case SimdLevel::Avx2: return "avx2";
    case SimdLevel::Avx512: return "avx512";
  }
  return "?";
}

std::string describe_cpu() {
  const CpuFeatures& f = cpu_features();
  std::string text = to_string(simd_level());
  if (simd_level() == SimdLevel::Avx512 && (f.avx512_vnni || f.avx512_bf16))
    text += std::string(" (") + (f.avx512_vnni ? "vnni" : "") + (f.avx512_vnni && f.avx512_bf16 ? ", " : "") +
            (f.avx512_bf16 ? "bf16" : "") + ")";
  return text;
}

}  // namespace frugal
