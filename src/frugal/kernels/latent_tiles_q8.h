#pragma once
// The q8 latent cache's layout, shaped for int8 dot products (vpdpbusd):
// positions are grouped in tiles of 16, and within a tile the codes of one
// column quad (4 consecutive values) of all 16 positions fill 64 bytes, so
// one vector load holds a dword of every position. Attention scores then
// take that load against one head's query dword broadcast, 16 positions per
// instruction with no shuffles; the weighted sum of latents transposes four
// such loads into 16 columns x 4 positions (latent_attention_q8.cpp).
//
// A tile:
//   latent codes  [latent_dim_padded / 4][16 positions][4]  uint8 (code + 128)
//   rope codes    [rope_dim_padded / 4][16 positions][4]    uint8 (code + 128)
//   latent scales [latent_blocks][16 positions]             float32
//   rope scales   [16 positions]                            float32
// Each position's latent is quantised per block of 128 values (scale = max
// |x| / 127, codes rounded half away from zero; DeepSeek's FP8 cache uses
// the same 128-value tiles) and its roped key as one block. Codes are kept
// offset by 128 (unsigned) because vpdpbusd multiplies unsigned by signed
// bytes, and a broadcast operand must be the signed one. Columns are padded
// with zero codes to a multiple of 16 (latent) and 4 (rope), which add
// nothing to any dot product. V2-Lite and V3 (576 values) take 596 bytes
// per position and layer, against 1,152 in BF16.
#include <cstddef>
#include <cstdint>

#include "frugal/core/cpu_features.h"

namespace frugal {

inline constexpr int kLatentTilePositions = 16;
inline constexpr int kLatentScaleBlock = 128;  // latent values per scale
inline constexpr int kLatentCodeOffset = 128;  // stored byte = code + 128

struct LatentTileLayout {
  int latent_dim = 0;
  int rope_dim = 0;
  int latent_padded = 0;  // latent_dim rounded up to 16
  int rope_padded = 0;    // rope_dim rounded up to 4
  int latent_blocks = 0;  // ceil(latent_dim / 128)

  LatentTileLayout() = default;
  LatentTileLayout(int latent_dim, int rope_dim);

  std::size_t latent_codes_offset() const { return 0; }
  std::size_t rope_codes_offset() const { return static_cast<std::size_t>(latent_padded) * kLatentTilePositions; }
  std::size_t latent_scales_offset() const {
    return rope_codes_offset() + static_cast<std::size_t>(rope_padded) * kLatentTilePositions;
  }
  std::size_t rope_scales_offset() const {
    return latent_scales_offset() + static_cast<std::size_t>(latent_blocks) * kLatentTilePositions * sizeof(float);
  }
  std::size_t tile_bytes() const { return rope_scales_offset() + kLatentTilePositions * sizeof(float); }
  std::size_t bytes_per_position() const { return tile_bytes() / kLatentTilePositions; }
  // Tiles that hold `positions` positions.
  static int64_t tiles_for(int64_t positions) {
    return (positions + kLatentTilePositions - 1) / kLatentTilePositions;
  }
};

// Quantises one position's latent (latent_dim values) and roped key
// (rope_dim) into slot `slot` (0..15) of a tile.
void store_latent_q8(const LatentTileLayout& layout, uint8_t* tile, int slot, const float* latent,
                     const float* rope_key);
// Reads them back (codes times scales) as float32; either output may be null.
void load_latent_q8(const LatentTileLayout& layout, const uint8_t* tile, int slot, float* latent, float* rope_key);

// Signed codes of `n` values with one scale (max |x| / 127), rounded half
// away from zero; the same rule quantises cached rows and queries.
float quantize_q8_block(const float* values, int n, int8_t* codes);
float quantize_q8_block_at(SimdLevel level, const float* values, int n, int8_t* codes);  // tests

}  // namespace frugal
