#include "frugal/kernels/latent_tiles_q8.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

int round_up(int n, int multiple) { return (n + multiple - 1) / multiple * multiple; }

// Byte of column `column` of slot `slot` among `codes`' column quads.
std::size_t code_index(int column, int slot) {
  return (static_cast<std::size_t>(column / 4) * kLatentTilePositions + slot) * 4 + column % 4;
}

void store_codes(const float* values, int n, int width_padded, uint8_t* codes, int slot, float* scale,
                 int block) {
  std::vector<int8_t> block_codes(static_cast<std::size_t>(std::min(block, n)));
  for (int b = 0; b * block < n; ++b) {
    const int begin = b * block, count = std::min(block, n - begin);
    scale[b * kLatentTilePositions] = quantize_q8_block(values + begin, count, block_codes.data());
    for (int i = 0; i < count; ++i)
      codes[code_index(begin + i, slot)] = static_cast<uint8_t>(block_codes[i] + kLatentCodeOffset);
  }
  for (int i = n; i < width_padded; ++i) codes[code_index(i, slot)] = kLatentCodeOffset;
}

void load_codes(const uint8_t* codes, int n, int slot, const float* scale, int block, float* out) {
  for (int i = 0; i < n; ++i)
    out[i] = static_cast<float>(static_cast<int>(codes[code_index(i, slot)]) - kLatentCodeOffset) *
             scale[(i / block) * kLatentTilePositions];
}

}  // namespace

LatentTileLayout::LatentTileLayout(int latent, int rope)
    : latent_dim(latent), rope_dim(rope), latent_padded(round_up(latent, 16)), rope_padded(round_up(rope, 4)),
      latent_blocks((latent + kLatentScaleBlock - 1) / kLatentScaleBlock) {
  if (latent < 1 || rope < 0) fail("q8 latent cache: bad widths (latent ", latent, ", rope ", rope, ")");
}

#if defined(__x86_64__)
// As the portable loop, 16 values a vector: the same max, product and
// rounding (half away from zero, then truncation), so the codes agree.
FRUGAL_AVX512 float quantize_q8_block_avx512(const float* values, int n, int8_t* codes) {
  __m512 largest = _mm512_setzero_ps();
  for (int i = 0; i < n; i += 16)
    largest = _mm512_max_ps(largest, _mm512_abs_ps(_mm512_maskz_loadu_ps(lanes_left(n - i), values + i)));
  const float amax = _mm512_reduce_max_ps(largest);
  const __m512 inverse = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
  const __m512 half = _mm512_set1_ps(0.5f);
  for (int i = 0; i < n; i += 16) {
    const __mmask16 live = lanes_left(n - i);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(live, values + i), inverse);
    const __mmask16 negative = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 rounded = _mm512_mask_sub_ps(_mm512_add_ps(v, half), negative, v, half);
    _mm_mask_storeu_epi8(codes + i, live, _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(rounded)));
  }
  return amax / 127.0f;
}
#endif

float quantize_q8_block_at(SimdLevel level, const float* values, int n, int8_t* codes) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) return quantize_q8_block_avx512(values, n, codes);
#endif
  (void)level;
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(values[i]));
  const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
  for (int i = 0; i < n; ++i) {
    const float v = values[i] * inverse;
    codes[i] = static_cast<int8_t>(v >= 0.0f ? v + 0.5f : v - 0.5f);
  }
  return amax / 127.0f;
}

float quantize_q8_block(const float* values, int n, int8_t* codes) {
  return quantize_q8_block_at(simd_level(), values, n, codes);
}

void store_latent_q8(const LatentTileLayout& layout, uint8_t* tile, int slot, const float* latent,
                     const float* rope_key) {
  auto* latent_scales = reinterpret_cast<float*>(tile + layout.latent_scales_offset());
  auto* rope_scale = reinterpret_cast<float*>(tile + layout.rope_scales_offset());
  store_codes(latent, layout.latent_dim, layout.latent_padded, tile + layout.latent_codes_offset(), slot,
              latent_scales + slot, kLatentScaleBlock);
  rope_scale[slot] = 0.0f;
  store_codes(rope_key, layout.rope_dim, layout.rope_padded, tile + layout.rope_codes_offset(), slot,
              rope_scale + slot, std::max(layout.rope_dim, 1));
}

void load_latent_q8(const LatentTileLayout& layout, const uint8_t* tile, int slot, float* latent, float* rope_key) {
  const auto* latent_scales = reinterpret_cast<const float*>(tile + layout.latent_scales_offset());
  const auto* rope_scale = reinterpret_cast<const float*>(tile + layout.rope_scales_offset());
  if (latent != nullptr)
    load_codes(tile + layout.latent_codes_offset(), layout.latent_dim, slot, latent_scales + slot, kLatentScaleBlock,
               latent);
  if (rope_key != nullptr)
    load_codes(tile + layout.rope_codes_offset(), layout.rope_dim, slot, rope_scale + slot,
               std::max(layout.rope_dim, 1), rope_key);
}

}  // namespace frugal
