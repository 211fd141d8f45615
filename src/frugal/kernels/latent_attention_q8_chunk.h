#pragma once
// What latent_attention_q8's implementations share: the quantised queries,
// a span's running softmax state, and one chunk of positions per SIMD
// level (portable in latent_attention_q8.cpp, the others in their own
// files). Internal to the kernel.
#include <cmath>
#include <cstdint>
#include <vector>

#include "frugal/kernels/latent_attention_q8.h"

namespace frugal::q8_attention {

constexpr int kTile = kLatentTilePositions;
constexpr int kChunk = 128;              // positions whose probabilities share a scale
constexpr int kChunkTiles = kChunk / kTile;
constexpr int kQuadsPerBlock = kLatentScaleBlock / 4;
constexpr int kMostLatentBlocks = 8;     // the vector path's buffers: latent_dim <= 1024

using QuantizedQueries = QuantizedLatentQueries;


// One span's running state per head, outputs padded to whole column blocks.
struct SpanState {
  int heads = 0;
  int width = 0;  // latent_padded
  std::vector<float> max, sum, out;

  void reset(int h, int w) {
    heads = h;
    width = w;
    max.assign(static_cast<std::size_t>(h), -INFINITY);
    sum.assign(static_cast<std::size_t>(h), 0.0f);
    out.assign(static_cast<std::size_t>(h) * w, 0.0f);
  }
  float* head_out(int h) { return out.data() + static_cast<std::size_t>(h) * width; }

  // A chunk's new maximum for head h: rescales what came before and
  // returns the maximum the chunk's probabilities are taken against.
  float raise_max(int h, float chunk_max) {
    const float old = max[h];
    if (chunk_max <= old) return old;
    max[h] = chunk_max;
    if (sum[h] > 0.0f) {
      const float factor = std::exp(old - chunk_max);
      sum[h] *= factor;
      float* o = head_out(h);
      for (int i = 0; i < width; ++i) o[i] *= factor;
    }
    return chunk_max;
  }
};

struct Context {
  const LatentAttentionQ8Args& args;
  const QuantizedQueries& queries;
  SpanState& state;
  int64_t fetch_end_tile;  // tiles before it may be fetched ahead

  const uint8_t* tile(int64_t k) const { return args.tiles + static_cast<std::size_t>(k) * args.layout.tile_bytes(); }
  const float* latent_scales(const uint8_t* t, int b) const {
    return reinterpret_cast<const float*>(t + args.layout.latent_scales_offset()) + b * kTile;
  }
  const float* rope_scales(const uint8_t* t) const {
    return reinterpret_cast<const float*>(t + args.layout.rope_scales_offset());
  }
};

// Attends over positions [c0, c1) of a span (c0 a multiple of 16, at most
// kChunk of them), updating c.state.
void chunk_portable(const Context& c, int64_t c0, int64_t c1);
void chunk_avx512(const Context& c, int64_t c0, int64_t c1);  // AVX-512 VNNI; latent_blocks <= kMostLatentBlocks
void chunk_avx2(const Context& c, int64_t c0, int64_t c1);    // AVX2

}  // namespace frugal::q8_attention
