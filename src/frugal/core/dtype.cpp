#include "frugal/core/dtype.h"

#include <array>
#include <cmath>

#include "frugal/core/error.h"

namespace frugal {
namespace {

struct DTypeInfo {
  DType type;
  std::string_view name;
  std::size_t size;
  bool is_float;
};

constexpr std::array<DTypeInfo, 13> kDTypes{{
    {DType::F64, "F64", 8, true},     {DType::F32, "F32", 4, true},
    {DType::F16, "F16", 2, true},     {DType::BF16, "BF16", 2, true},
    {DType::F8_E4M3, "F8_E4M3", 1, true}, {DType::F8_E5M2, "F8_E5M2", 1, true},
    {DType::I64, "I64", 8, false},    {DType::I32, "I32", 4, false},
    {DType::I16, "I16", 2, false},    {DType::I8, "I8", 1, false},
    {DType::U8, "U8", 1, false},      {DType::BOOL, "BOOL", 1, false},
    {DType::Q4, "Q4", 0, false},
}};

const DTypeInfo& info(DType type) { return kDTypes[static_cast<std::size_t>(type)]; }

std::array<float, 256> make_e4m3_table() {
  std::array<float, 256> table{};
  for (int code = 0; code < 256; ++code) {
    const int sign = code >> 7, exponent = (code >> 3) & 0xF, mantissa = code & 7;
    float magnitude;
    if (exponent == 0xF && mantissa == 7) {
      magnitude = NAN;
    } else if (exponent == 0) {
      magnitude = std::ldexp(static_cast<float>(mantissa) / 8.0f, -6);
    } else {
      magnitude = std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
    }
    table[code] = sign ? -magnitude : magnitude;
  }
  return table;
}

}  // namespace

const std::array<float, 256> kFp8E4m3Table = make_e4m3_table();

std::string_view dtype_name(DType type) { return info(type).name; }
std::size_t dtype_size(DType type) {
  if (type == DType::Q4) fail("Q4 packs two values per byte: no whole-byte element size");
  return info(type).size;
}
bool dtype_is_float(DType type) { return info(type).is_float; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& entry : kDTypes) {
    if (entry.name == name && entry.type != DType::Q4) return entry.type;  // Q4 never comes from a file
  }
  return std::nullopt;
}

float f16_to_f32(uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 0x1F, mantissa = bits & 0x3FF;
  float magnitude;
  if (exponent == 0x1F) {
    magnitude = mantissa ? NAN : INFINITY;
  } else if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else {
    magnitude = std::ldexp(1.0f + static_cast<float>(mantissa) / 1024.0f, exponent - 15);
  }
  return sign ? -magnitude : magnitude;
}

uint8_t f32_to_fp8_e4m3(float value) {
  if (std::isnan(value)) return 0x7F;
  const uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  const float magnitude = std::fabs(value);
  // Codes 0x00..0x7E are the finite magnitudes in increasing order.
  int low = 0, high = 0x7E;
  if (magnitude >= kFp8E4m3Table[high]) return sign | 0x7E;
  while (high - low > 1) {  // table[low] <= magnitude < table[high]
    const int mid = (low + high) / 2;
    (kFp8E4m3Table[mid] <= magnitude ? low : high) = mid;
  }
  const float below = magnitude - kFp8E4m3Table[low], above = kFp8E4m3Table[high] - magnitude;
  const int code = below < above ? low : (above < below ? high : (low % 2 == 0 ? low : high));
  return static_cast<uint8_t>(sign | code);
}

float fp8_e5m2_to_f32(uint8_t code) {
  // E5M2 is the upper byte of an IEEE half.
  return f16_to_f32(static_cast<uint16_t>(code) << 8);
}

void decode_to_f32(DType type, const void* src, std::size_t count, float* dst) {
  if (count == 0) return;  // empty tensors may have null pointers
  const auto* bytes = static_cast<const unsigned char*>(src);
  switch (type) {
    case DType::F32:
      std::memcpy(dst, bytes, count * sizeof(float));
      return;
    case DType::F64:
      for (std::size_t i = 0; i < count; ++i) {
        double v;
        std::memcpy(&v, bytes + 8 * i, 8);
        dst[i] = static_cast<float>(v);
      }
      return;
    case DType::BF16:
      for (std::size_t i = 0; i < count; ++i) {
        uint16_t v;
        std::memcpy(&v, bytes + 2 * i, 2);
        dst[i] = bf16_to_f32(v);
      }
      return;
    case DType::F16:
      for (std::size_t i = 0; i < count; ++i) {
        uint16_t v;
        std::memcpy(&v, bytes + 2 * i, 2);
        dst[i] = f16_to_f32(v);
      }
      return;
    case DType::F8_E4M3:
      for (std::size_t i = 0; i < count; ++i) dst[i] = kFp8E4m3Table[bytes[i]];
      return;
    case DType::F8_E5M2:
      for (std::size_t i = 0; i < count; ++i) dst[i] = fp8_e5m2_to_f32(bytes[i]);
      return;
    default:
      fail("cannot decode dtype ", dtype_name(type), " as floating point");
  }
}

}  // namespace frugal
