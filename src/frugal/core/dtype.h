#pragma once
// Element types found in safetensors checkpoints and their exact decoding to
// float32. BF16, F16 and FP8 E4M3 decode exactly: float32 holds every value.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace frugal {

// Q4 is not a safetensors type: 4-bit codes packed two to a byte, the form
// `--weights q4` converts linear weights to at load (kernels/q4.h).
enum class DType { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL, Q4 };

// The safetensors spelling ("BF16", "F8_E4M3", ...), and back.
std::string_view dtype_name(DType type);
std::optional<DType> dtype_from_name(std::string_view name);
std::size_t dtype_size(DType type);  // fails for Q4: half a byte per value
bool dtype_is_float(DType type);

inline float bf16_to_f32(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Round to nearest, ties to even; NaN stays a (quiet) NaN.
inline uint16_t f32_to_bf16(float value) {
  uint32_t u;
  std::memcpy(&u, &value, sizeof u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float f16_to_f32(uint16_t bits);

// float8_e4m3fn: no infinities, 0x7F/0xFF are NaN, max finite 448.
extern const std::array<float, 256> kFp8E4m3Table;
inline float fp8_e4m3_to_f32(uint8_t code) { return kFp8E4m3Table[code]; }
// The nearest E4M3 code (ties to the even code); magnitudes beyond 448
// saturate to +-448, NaN gives the NaN code.
uint8_t f32_to_fp8_e4m3(float value);
float fp8_e5m2_to_f32(uint8_t code);

// Decodes `count` elements of a floating type starting at `src` (any
// alignment) into float32.
void decode_to_f32(DType type, const void* src, std::size_t count, float* dst);

}  // namespace frugal
