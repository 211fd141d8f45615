// The q8 latent attention's chunk with AVX-512 VNNI (latent_attention_q8.h).
#include <algorithm>
#include <cstring>

#include "frugal/kernels/latent_attention_q8_chunk.h"
#include "frugal/kernels/simd_math.h"

namespace frugal::q8_attention {

#if defined(__x86_64__)
namespace {

// acc += u8 x s8 dword products, the signed dword broadcast from memory. In
// asm so that each accumulator keeps its register: with the intrinsic, GCC
// 12 copied all sixteen accumulators around every iteration.
FRUGAL_AVX512_VNNI inline void dot_broadcast_signed(__m512i& acc, __m512i unsigned_bytes, const int32_t* signed_dword) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(unsigned_bytes), "m"(*signed_dword));
}
// acc += u8 x s8 products, the unsigned dword broadcast from memory.
FRUGAL_AVX512_VNNI inline void dot_broadcast_unsigned(__m512i& acc, const int32_t* unsigned_dword, __m512i signed_bytes) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(_mm512_set1_epi32(*unsigned_dword)), "v"(signed_bytes));
}

// Scores of one tile for G heads from h0, into scores[h * kChunk + at]
// (16 of them), masked to -inf from position `valid` on.
template <int G>
FRUGAL_AVX512_VNNI void tile_scores(const Context& c, int h0, const uint8_t* tile, int valid, float* scores, int at,
                                    const uint8_t* ahead) {
  const LatentTileLayout& l = c.args.layout;
  const QuantizedQueries& q = c.queries;
  // Block sums accumulate in `scores` (in L1), leaving the registers to
  // the G integer accumulators.
#pragma GCC unroll 16
  for (int h = 0; h < G; ++h) _mm512_storeu_ps(scores + h * kChunk + at, _mm512_setzero_ps());
  for (int b = 0; b < q.blocks; ++b) {
    const bool rope = b == l.latent_blocks;
    const int q0 = rope ? l.latent_padded / 4 : b * kQuadsPerBlock;
    const int q1 = rope ? q0 + l.rope_padded / 4 : std::min(q0 + kQuadsPerBlock, l.latent_padded / 4);
    const uint8_t* codes = tile + (rope ? l.rope_codes_offset() - static_cast<std::size_t>(q0) * 64 : l.latent_codes_offset());
    __m512i acc[G];
#pragma GCC unroll 16
    for (int h = 0; h < G; ++h) acc[h] = _mm512_set1_epi32(-q.offset(h0 + h, b));
    for (int g = q0; g < q1; ++g) {
      const __m512i x = _mm512_loadu_si512(codes + static_cast<std::size_t>(g) * 64);
      if (ahead != nullptr) _mm_prefetch(reinterpret_cast<const char*>(ahead) + g * 64, _MM_HINT_T0);
      const int32_t* query = q.quad_codes(g) + h0;
#pragma GCC unroll 16
      for (int h = 0; h < G; ++h) dot_broadcast_signed(acc[h], x, query + h);
    }
    const __m512 row_scales = _mm512_loadu_ps(rope ? c.rope_scales(tile) : c.latent_scales(tile, b));
#pragma GCC unroll 16
    for (int h = 0; h < G; ++h) {
      float* total = scores + h * kChunk + at;
      _mm512_storeu_ps(total, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[h]),
                                              _mm512_mul_ps(row_scales, _mm512_set1_ps(q.scale(h0 + h, b))),
                                              _mm512_loadu_ps(total)));
    }
  }
  // The tile's scale lines, after its code lines (one per quad).
  for (std::size_t line = q.quads; ahead != nullptr && line * 64 < l.tile_bytes(); ++line)
    _mm_prefetch(reinterpret_cast<const char*>(ahead) + line * 64, _MM_HINT_T0);
  const __mmask16 dead = static_cast<__mmask16>(~lanes_left(valid));
#pragma GCC unroll 16
  for (int h = 0; h < G; ++h) _mm512_mask_storeu_ps(scores + h * kChunk + at, dead, _mm512_set1_ps(-INFINITY));
}

// Transposes a tile's 16 positions x 16 columns (four column quads, one
// 64-byte load each) into four vectors of 16 columns x 4 positions: y[j]
// holds positions 4j..4j+3, column i in dword i, as signed codes.
FRUGAL_AVX512_VNNI inline void transpose_quads(const uint8_t* codes, __m512i (&y)[4]) {
  // Within each 128-bit lane (4 positions x 4 columns) put each column's 4
  // positions together.
  const __m512i in_lane = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  __m512i x[4];
  for (int k = 0; k < 4; ++k) x[k] = _mm512_shuffle_epi8(_mm512_loadu_si512(codes + k * 64), in_lane);
  // Lane j of quad k becomes lane k of y[j]: a 4 x 4 transpose of lanes.
  const __m512i t0 = _mm512_shuffle_i64x2(x[0], x[1], 0x44), t1 = _mm512_shuffle_i64x2(x[2], x[3], 0x44);
  const __m512i t2 = _mm512_shuffle_i64x2(x[0], x[1], 0xEE), t3 = _mm512_shuffle_i64x2(x[2], x[3], 0xEE);
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(kLatentCodeOffset));  // code + 128 -> code
  y[0] = _mm512_xor_si512(_mm512_shuffle_i64x2(t0, t1, 0x88), offset);
  y[1] = _mm512_xor_si512(_mm512_shuffle_i64x2(t0, t1, 0xDD), offset);
  y[2] = _mm512_xor_si512(_mm512_shuffle_i64x2(t2, t3, 0x88), offset);
  y[3] = _mm512_xor_si512(_mm512_shuffle_i64x2(t2, t3, 0xDD), offset);
}

// The chunk's weighted sum of latents for G heads from h0: weights holds
// the 8-bit weights as [blocks][G][kChunk / 4] dwords (4 positions of one
// head each), with their scales [G][blocks]. The weights are vpdpbusd's
// unsigned operand, broadcast.
template <int G>
FRUGAL_AVX512_VNNI void chunk_values(const Context& c, int h0, int64_t k0, int tiles, const int32_t* weights,
                                     const float* weight_scales) {
  const LatentTileLayout& l = c.args.layout;
  const int blocks = l.latent_blocks;
  // Local copies: the output stores could otherwise alias them.
  float* const out = c.state.head_out(h0);
  const int width = c.state.width;
  float scales[G * kMostLatentBlocks];
  std::copy_n(weight_scales, G * blocks, scales);
  for (int cb = 0; cb < l.latent_padded / 16; ++cb) {
    const int b = cb * 16 / kLatentScaleBlock;
    __m512i acc[G];
#pragma GCC unroll 16
    for (int h = 0; h < G; ++h) acc[h] = _mm512_setzero_si512();
    for (int k = 0; k < tiles; ++k) {
      __m512i y[4];
      transpose_quads(c.tile(k0 + k) + l.latent_codes_offset() + static_cast<std::size_t>(cb) * 4 * 64, y);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const int32_t* w = weights + b * G * (kChunk / 4) + k * 4 + j;
#pragma GCC unroll 16
        for (int h = 0; h < G; ++h) dot_broadcast_unsigned(acc[h], w + h * (kChunk / 4), y[j]);
      }
    }
#pragma GCC unroll 16
    for (int h = 0; h < G; ++h) {
      float* o = out + h * width + cb * 16;
      _mm512_storeu_ps(o, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[h]), _mm512_set1_ps(scales[h * blocks + b]),
                                          _mm512_loadu_ps(o)));
    }
  }
}

// Softmax bookkeeping for G heads over a chunk's scores ([G][kChunk], in
// place: they become probabilities), then their weights per latent block
// (as quantize_weights_portable, 16 positions a vector) into dwords
// weights[(b * G + h) * kChunk / 4 + quad], scales [G][blocks]: a head's
// 16 weights of a vector leave in one store, where a layout with a quad's
// heads together took four extracts (the kernel ran 4-5% slower). Each step
// runs for every head before the next, so that the heads' horizontal
// reductions and divisions overlap instead of forming one long chain.
template <int G>
FRUGAL_AVX512 void chunk_weights(const Context& c, int h0, int64_t k0, int n, float* scores, int32_t* weights,
                                 float* weight_scales) {
  const int vectors = (n + 15) / 16, blocks = c.args.layout.latent_blocks;
  float running[G];
  for (int h = 0; h < G; ++h) {
    __m512 largest = _mm512_set1_ps(-INFINITY);
    for (int v = 0; v < vectors; ++v) largest = _mm512_max_ps(largest, _mm512_loadu_ps(scores + h * kChunk + v * 16));
    running[h] = _mm512_reduce_max_ps(largest);
  }
  for (int h = 0; h < G; ++h) running[h] = c.state.raise_max(h0 + h, running[h]);
  for (int h = 0; h < G; ++h) {
    __m512 total = _mm512_setzero_ps();
    for (int v = 0; v < vectors; ++v) {
      float* s = scores + h * kChunk + v * 16;
      const __m512 p = _mm512_maskz_mov_ps(lanes_left(n - v * 16),
                                           exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(s), _mm512_set1_ps(running[h]))));
      _mm512_storeu_ps(s, p);
      total = _mm512_add_ps(total, p);
    }
    c.state.sum[h0 + h] += _mm512_reduce_add_ps(total);
  }
  for (int b = 0; b < blocks; ++b) {
    __m512 row_scales[kChunkTiles];
    for (int v = 0; v < vectors; ++v) row_scales[v] = _mm512_loadu_ps(c.latent_scales(c.tile(k0 + v), b));
    float largest[G];
    for (int h = 0; h < G; ++h) {
      __m512 w_max = _mm512_setzero_ps();
      for (int v = 0; v < vectors; ++v)
        w_max = _mm512_max_ps(w_max, _mm512_mul_ps(_mm512_loadu_ps(scores + h * kChunk + v * 16), row_scales[v]));
      largest[h] = _mm512_reduce_max_ps(w_max);
    }
    for (int h = 0; h < G; ++h) {
      const __m512 inverse = _mm512_set1_ps(largest[h] > 0.0f ? 255.0f / largest[h] : 0.0f);
      for (int v = 0; v < vectors; ++v) {
        const __m512 w = _mm512_mul_ps(_mm512_loadu_ps(scores + h * kChunk + v * 16), row_scales[v]);
        const __m512i codes = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(w, inverse), _mm512_set1_ps(0.5f)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(weights + (b * G + h) * (kChunk / 4) + v * 4),
                         _mm512_cvtepi32_epi8(codes));
      }
      weight_scales[h * blocks + b] = largest[h] / 255.0f;
    }
  }
}

template <int G>
FRUGAL_AVX512_VNNI void chunk_group(const Context& c, int h0, int64_t c0, int64_t c1) {
  alignas(64) float scores[G * kChunk];
  alignas(64) int32_t weights[kMostLatentBlocks * G * kChunk / 4];  // [blocks][G][kChunk / 4]
  float weight_scales[G * kMostLatentBlocks];
  const int64_t k0 = c0 / kTile;
  const int tiles = static_cast<int>((c1 - c0 + kTile - 1) / kTile);
  // The first head group fetches the span's next chunk, line by line as it
  // reads this one, so that memory streams while the dot products run.
  for (int k = 0; k < tiles; ++k) {
    const int64_t next = k0 + k + kChunkTiles;
    tile_scores<G>(c, h0, c.tile(k0 + k), static_cast<int>(c1 - c0) - k * kTile, scores, k * kTile,
                   h0 == 0 && next < c.fetch_end_tile ? c.tile(next) : nullptr);
  }
  chunk_weights<G>(c, h0, k0, static_cast<int>(c1 - c0), scores, weights, weight_scales);
  chunk_values<G>(c, h0, k0, tiles, weights, weight_scales);
}

}  // namespace

void chunk_avx512(const Context& c, int64_t c0, int64_t c1) {
  int h0 = 0;
  for (; h0 + 16 <= c.args.heads; h0 += 16) chunk_group<16>(c, h0, c0, c1);
  for (; h0 + 8 <= c.args.heads; h0 += 8) chunk_group<8>(c, h0, c0, c1);
  for (; h0 + 4 <= c.args.heads; h0 += 4) chunk_group<4>(c, h0, c0, c1);
  for (; h0 < c.args.heads; ++h0) chunk_group<1>(c, h0, c0, c1);
}

#else
void chunk_avx512(const Context&, int64_t, int64_t) {}
#endif

}  // namespace frugal::q8_attention
