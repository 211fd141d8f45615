// Element decoding: every checkpoint weight passes through these functions,
// so the tables are pinned bit for bit against hand-derived values.
#include "frugal/core/dtype.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "frugal/core/error.h"

namespace frugal {
namespace {

float float_from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }

// ---- FP8 E4M3 (float8_e4m3fn) ---------------------------------------------

TEST(Fp8E4m3, DecodesHandDerivedCodes) {
  EXPECT_EQ(fp8_e4m3_to_f32(0x00), 0.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x38), 1.0f);              // exponent 7 = bias
  EXPECT_EQ(fp8_e4m3_to_f32(0x08), std::ldexp(1.0f, -6));  // smallest normal
  EXPECT_EQ(fp8_e4m3_to_f32(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_EQ(fp8_e4m3_to_f32(0x07), 7.0f * std::ldexp(1.0f, -9));  // largest subnormal
  EXPECT_EQ(fp8_e4m3_to_f32(0x3C), 1.5f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x40), 2.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x7E), 448.0f);   // largest finite: no infinities in "fn"
  EXPECT_EQ(fp8_e4m3_to_f32(0xFE), -448.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0xB8), -1.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x78), 256.0f);   // exponent 15 with mantissa < 7 is finite
}

TEST(Fp8E4m3, NegativeZeroKeepsItsSign) {
  const float negative_zero = fp8_e4m3_to_f32(0x80);
  EXPECT_EQ(negative_zero, 0.0f);
  EXPECT_TRUE(std::signbit(negative_zero));
}

TEST(Fp8E4m3, OnlyAllOnesCodesAreNaN) {
  int nan_count = 0;
  for (int code = 0; code < 256; ++code)
    if (std::isnan(fp8_e4m3_to_f32(static_cast<uint8_t>(code)))) ++nan_count;
  EXPECT_EQ(nan_count, 2);
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_f32(0x7F)));
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_f32(0xFF)));
}

TEST(Fp8E4m3, PositiveCodesIncreaseAndNegativeCodesMirrorThem) {
  // The format is sign-magnitude, so codes 0x00..0x7E must be strictly
  // increasing and code | 0x80 must be the exact negation.
  for (int code = 1; code <= 0x7E; ++code)
    EXPECT_LT(fp8_e4m3_to_f32(code - 1), fp8_e4m3_to_f32(code)) << "code " << code;
  for (int code = 0; code <= 0x7E; ++code)
    EXPECT_EQ(fp8_e4m3_to_f32(code | 0x80), -fp8_e4m3_to_f32(code)) << "code " << code;
}

TEST(Fp8E5m2, DecodesAsTheUpperByteOfAHalf) {
  EXPECT_EQ(fp8_e5m2_to_f32(0x3C), 1.0f);
  EXPECT_EQ(fp8_e5m2_to_f32(0x01), std::ldexp(1.0f, -16));
  EXPECT_EQ(fp8_e5m2_to_f32(0x7B), 57344.0f);
  EXPECT_EQ(fp8_e5m2_to_f32(0x7C), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fp8_e5m2_to_f32(0x7D)));
}

// ---- BF16 -------------------------------------------------------------------

TEST(Bf16, DecodesHandDerivedPatterns) {
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(bf16_to_f32(0x3FC0), 1.5f);
  EXPECT_EQ(bf16_to_f32(0x0001), std::ldexp(1.0f, -133));  // smallest subnormal
  EXPECT_EQ(bf16_to_f32(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bf16_to_f32(0xFF80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7FC0)));
}

TEST(Bf16, EncodesExactValuesExactly) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
}

TEST(Bf16, EveryNonNaNPatternSurvivesARoundTrip) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const float value = bf16_to_f32(static_cast<uint16_t>(bits));
    if (std::isnan(value)) continue;
    ASSERT_EQ(f32_to_bf16(value), bits) << "pattern 0x" << std::hex << bits;
  }
}

TEST(Bf16, RoundsToNearestWithTiesToEven) {
  // 0x3F808000 lies exactly halfway between 0x3F80 (even) and 0x3F81.
  EXPECT_EQ(f32_to_bf16(float_from_bits(0x3F808000u)), 0x3F80);
  // 0x3F818000 lies halfway between 0x3F81 and 0x3F82 (even): rounds up.
  EXPECT_EQ(f32_to_bf16(float_from_bits(0x3F818000u)), 0x3F82);
  // Off the tie, the nearer neighbour wins whatever its parity.
  EXPECT_EQ(f32_to_bf16(float_from_bits(0x3F808001u)), 0x3F81);
  EXPECT_EQ(f32_to_bf16(float_from_bits(0x3F807FFFu)), 0x3F80);
  EXPECT_EQ(f32_to_bf16(float_from_bits(0xBF808000u)), 0xBF80);  // sign does not matter
  EXPECT_EQ(f32_to_bf16(float_from_bits(0xBF818000u)), 0xBF82);
  // A carry out of the mantissa bumps the exponent: just under 2 rounds to 2.
  EXPECT_EQ(f32_to_bf16(float_from_bits(0x3FFFFFFFu)), 0x4000);
  // The largest float rounds to infinity, as IEEE rounding requires.
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);
}

TEST(Bf16, NaNStaysNaN) {
  // A NaN whose payload sits only in the low 16 bits would become infinity
  // under plain rounding; the encoder must keep it a NaN.
  for (uint32_t bits : {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu}) {
    const uint16_t encoded = f32_to_bf16(float_from_bits(bits));
    EXPECT_TRUE(std::isnan(bf16_to_f32(encoded)))
        << "float 0x" << std::hex << bits << " encoded as 0x" << encoded;
  }
}

// ---- F16 --------------------------------------------------------------------

TEST(F16, DecodesNormalsSubnormalsAndSpecials) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x3555), (1.0f + 0x155 / 1024.0f) * 0.25f);  // mantissa 0x155, 2^-2
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);                          // largest finite
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));            // smallest normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));            // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03FF), 1023.0f * std::ldexp(1.0f, -24));  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7C01)));
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

// ---- Bulk decoding ------------------------------------------------------------

TEST(DecodeToF32, DecodesFromAnUnalignedSource) {
  // Tensor data inside a mapped safetensors file has no alignment promise.
  const unsigned char bytes[] = {0xAA, 0x80, 0x3F, 0x00, 0xC0, 0xC0, 0x3F};
  float out[3] = {};
  decode_to_f32(DType::BF16, bytes + 1, 3, out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], 1.5f);
}

TEST(DecodeToF32, DecodesEveryFloatingType) {
  const uint8_t fp8[] = {0x38, 0x7E, 0xB8};
  float out[3] = {};
  decode_to_f32(DType::F8_E4M3, fp8, 3, out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 448.0f);
  EXPECT_EQ(out[2], -1.0f);

  const uint16_t half[] = {0x3C00, 0x0001};
  decode_to_f32(DType::F16, half, 2, out);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], std::ldexp(1.0f, -24));

  const double wide[] = {0.5, -3.25};
  decode_to_f32(DType::F64, wide, 2, out);
  EXPECT_EQ(out[0], 0.5f);
  EXPECT_EQ(out[1], -3.25f);

  const float single[] = {7.0f, -0.125f};
  decode_to_f32(DType::F32, single, 2, out);
  EXPECT_EQ(out[0], 7.0f);
  EXPECT_EQ(out[1], -0.125f);
}

TEST(DecodeToF32, RejectsIntegerTypesNamingTheType) {
  const int32_t ints[] = {1, 2};
  float out[2];
  try {
    decode_to_f32(DType::I32, ints, 2, out);
    FAIL() << "decoding I32 as float did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("I32"), std::string::npos) << e.what();
  }
}

TEST(Fp8E4m3Encode, EveryCodeRoundTripsAndValuesGoToTheNearest) {
  for (int code = 0; code < 256; ++code) {
    if ((code & 0x7F) == 0x7F) continue;  // NaN
    if (code == 0x80) continue;           // -0 encodes as the -0 code too, checked below
    EXPECT_EQ(f32_to_fp8_e4m3(fp8_e4m3_to_f32(static_cast<uint8_t>(code))), code) << code;
  }
  EXPECT_EQ(f32_to_fp8_e4m3(-0.0f), 0x80);
  EXPECT_EQ(f32_to_fp8_e4m3(1000.0f), 0x7E);  // saturates at 448
  EXPECT_EQ(f32_to_fp8_e4m3(-1000.0f), 0xFE);
  EXPECT_EQ(f32_to_fp8_e4m3(NAN), 0x7F);
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(1.06f)), 1.0f);     // steps of 1/8 near 1
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(1.07f)), 1.125f);
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(1.0625f)), 1.0f);   // a tie goes to the even code
  EXPECT_EQ(fp8_e4m3_to_f32(f32_to_fp8_e4m3(1.1875f)), 1.25f);  // a tie goes to the even code
}

// ---- Names and sizes -------------------------------------------------------------

TEST(DTypeNames, EveryTypeRoundTripsThroughItsName) {
  const std::vector<DType> all = {DType::F64,  DType::F32, DType::F16, DType::BF16,
                                  DType::F8_E4M3, DType::F8_E5M2, DType::I64, DType::I32,
                                  DType::I16,  DType::I8,  DType::U8,  DType::BOOL};
  for (DType type : all) {
    const auto parsed = dtype_from_name(dtype_name(type));
    ASSERT_TRUE(parsed.has_value()) << dtype_name(type);
    EXPECT_EQ(*parsed, type) << dtype_name(type);
  }
}

TEST(DTypeNames, UseTheSafetensorsSpellingAndSizes) {
  EXPECT_EQ(dtype_name(DType::BF16), "BF16");
  EXPECT_EQ(dtype_name(DType::F8_E4M3), "F8_E4M3");
  EXPECT_EQ(dtype_from_name("F8_E4M3"), DType::F8_E4M3);
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(dtype_size(DType::F32), 4u);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::F8_E4M3), 1u);
  EXPECT_EQ(dtype_size(DType::I64), 8u);
  EXPECT_EQ(dtype_size(DType::BOOL), 1u);
  EXPECT_TRUE(dtype_is_float(DType::F8_E5M2));
  EXPECT_FALSE(dtype_is_float(DType::I32));
  EXPECT_FALSE(dtype_is_float(DType::BOOL));
  EXPECT_EQ(dtype_name(DType::Q4), "Q4");
  EXPECT_THROW(dtype_size(DType::Q4), Error);  // packed: no per-element byte size
}

TEST(DTypeNames, UnknownNamesGiveNothing) {
  // Names are case-sensitive and must match exactly, as the format defines them.
  for (const char* name : {"", "bf16", "FP8", "F8_E4M3FN", "float32", "F32 ", "I4", "Q4"})
    EXPECT_EQ(dtype_from_name(name), std::nullopt) << '"' << name << '"';
}

}  // namespace
}  // namespace frugal
