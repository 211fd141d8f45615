#include "frugal/kernels/latent_attention_q8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

constexpr int kTile = kLatentTilePositions;
constexpr int kChunk = 128;              // positions whose probabilities share a scale
constexpr int kChunkTiles = kChunk / kTile;
constexpr int kQuadsPerBlock = kLatentScaleBlock / 4;
constexpr int kMostLatentBlocks = 8;     // the vector path's buffers: latent_dim <= 1024

// The queries as int8 codes per head and block (the rope key one more
// block), padded like the cache's columns, with each block's scale (times
// the softmax scale) and 128 times its code sum: a dot product with the
// cache's offset codes, minus that, is the dot product with the true codes.
struct QuantizedQueries {
  int heads = 0;
  int quads = 0;   // dwords per head: latent_padded / 4 + rope_padded / 4
  int blocks = 0;  // latent blocks + 1
  // [quads][heads], 4 codes per dword: one quad's dwords of consecutive
  // heads sit together, at fixed offsets from one pointer.
  std::vector<int32_t> codes;
  std::vector<float> scales;    // [heads][blocks]
  std::vector<int32_t> offsets; // [heads][blocks]

  const int32_t* quad_codes(int g) const { return codes.data() + static_cast<std::size_t>(g) * heads; }
  int8_t code(int h, int column) const {
    return reinterpret_cast<const int8_t*>(quad_codes(column / 4) + h)[column % 4];
  }
  float scale(int h, int b) const { return scales[static_cast<std::size_t>(h) * blocks + b]; }
  int32_t offset(int h, int b) const { return offsets[static_cast<std::size_t>(h) * blocks + b]; }
};

void quantize_queries(const LatentAttentionQ8Args& a, QuantizedQueries& q) {
  const LatentTileLayout& l = a.layout;
  q.heads = a.heads;
  q.quads = (l.latent_padded + l.rope_padded) / 4;
  q.blocks = l.latent_blocks + 1;
  q.codes.resize(static_cast<std::size_t>(a.heads) * q.quads);
  q.scales.resize(static_cast<std::size_t>(a.heads) * q.blocks);
  q.offsets.resize(static_cast<std::size_t>(a.heads) * q.blocks);
  std::vector<int8_t> row(static_cast<std::size_t>(q.quads) * 4);  // one head's codes, padded with zeros
  for (int h = 0; h < a.heads; ++h) {
    std::fill(row.begin(), row.end(), int8_t{0});
    for (int b = 0; b < q.blocks; ++b) {
      const bool rope = b == l.latent_blocks;
      const int begin = rope ? 0 : b * kLatentScaleBlock;
      const int count = rope ? l.rope_dim : std::min(kLatentScaleBlock, l.latent_dim - begin);
      const float* values = rope ? a.q_rope + h * a.q_rope_stride : a.q_latent + h * a.q_latent_stride + begin;
      int8_t* codes = row.data() + (rope ? l.latent_padded : 0) + begin;
      const float scale = quantize_q8_block(values, count, codes);
      int32_t sum = 0;
      for (int i = 0; i < count; ++i) sum += codes[i];
      q.scales[static_cast<std::size_t>(h) * q.blocks + b] = scale * a.scale;
      q.offsets[static_cast<std::size_t>(h) * q.blocks + b] = kLatentCodeOffset * sum;
    }
    for (int g = 0; g < q.quads; ++g)
      std::memcpy(q.codes.data() + static_cast<std::size_t>(g) * a.heads + h, row.data() + 4 * g, 4);
  }
}

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
  int64_t end_tile;  // the span's

  const uint8_t* tile(int64_t k) const { return args.tiles + static_cast<std::size_t>(k) * args.layout.tile_bytes(); }
  const float* latent_scales(const uint8_t* t, int b) const {
    return reinterpret_cast<const float*>(t + args.layout.latent_scales_offset()) + b * kTile;
  }
  const float* rope_scales(const uint8_t* t) const {
    return reinterpret_cast<const float*>(t + args.layout.rope_scales_offset());
  }
};

// Probabilities times their positions' block scales, to 8 unsigned bits
// against the largest: weight = (int)(w * 255 / max + 0.5); returns max / 255.
float quantize_weights_portable(const float* w, int n, uint8_t* codes) {
  float largest = 0.0f;
  for (int t = 0; t < n; ++t) largest = std::max(largest, w[t]);
  const float inverse = largest > 0.0f ? 255.0f / largest : 0.0f;
  for (int t = 0; t < n; ++t) codes[t] = static_cast<uint8_t>(static_cast<int>(w[t] * inverse + 0.5f));
  return largest / 255.0f;
}

int stored_code(const uint8_t* codes, int column, int slot) {
  return codes[(static_cast<std::size_t>(column / 4) * kTile + slot) * 4 + column % 4];
}

void chunk_portable(const Context& c, int64_t c0, int64_t c1) {
  const LatentTileLayout& l = c.args.layout;
  const QuantizedQueries& q = c.queries;
  const int n = static_cast<int>(c1 - c0);
  float scores[kChunk], p[kChunk], w[kChunk];
  uint8_t weights[kChunk];
  for (int h = 0; h < c.args.heads; ++h) {
    float chunk_max = -INFINITY;
    for (int i = 0; i < n; ++i) {
      const uint8_t* tile = c.tile((c0 + i) / kTile);
      const int slot = static_cast<int>((c0 + i) % kTile);
      float score = 0.0f;
      for (int b = 0; b < q.blocks; ++b) {
        const bool rope = b == l.latent_blocks;
        const int begin = rope ? 0 : b * kLatentScaleBlock;
        const int end = rope ? l.rope_padded : std::min(begin + kLatentScaleBlock, l.latent_padded);
        const uint8_t* codes = tile + (rope ? l.rope_codes_offset() : l.latent_codes_offset());
        const int first = rope ? l.latent_padded : 0;
        int32_t dot = -q.offset(h, b);
        for (int j = begin; j < end; ++j) dot += q.code(h, first + j) * stored_code(codes, j, slot);
        const float row_scale = rope ? c.rope_scales(tile)[slot] : c.latent_scales(tile, b)[slot];
        score += static_cast<float>(dot) * (q.scale(h, b) * row_scale);
      }
      scores[i] = score;
      chunk_max = std::max(chunk_max, score);
    }
    const float m = c.state.raise_max(h, chunk_max);
    float total = 0.0f;
    for (int i = 0; i < n; ++i) total += p[i] = std::exp(scores[i] - m);
    c.state.sum[h] += total;
    float* o = c.state.head_out(h);
    for (int b = 0; b < l.latent_blocks; ++b) {
      for (int i = 0; i < n; ++i)
        w[i] = p[i] * c.latent_scales(c.tile((c0 + i) / kTile), b)[(c0 + i) % kTile];
      const float weight_scale = quantize_weights_portable(w, n, weights);
      const int end = std::min((b + 1) * kLatentScaleBlock, l.latent_padded);
      for (int j = b * kLatentScaleBlock; j < end; ++j) {
        int32_t acc = 0;
        for (int i = 0; i < n; ++i)
          acc += weights[i] * (stored_code(c.tile((c0 + i) / kTile) + l.latent_codes_offset(), j,
                                           static_cast<int>((c0 + i) % kTile)) -
                               kLatentCodeOffset);
        o[j] += static_cast<float>(acc) * weight_scale;
      }
    }
  }
}

#if defined(__x86_64__)

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
// the 8-bit weights as [blocks][kChunk / 4][G] dwords (4 positions of one
// head each, so one quad's dwords of the group sit together), with their
// scales [G][blocks]. The weights are vpdpbusd's unsigned operand,
// broadcast.
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
        const int32_t* w = weights + (b * kChunk / 4 + k * 4 + j) * G;
#pragma GCC unroll 16
        for (int h = 0; h < G; ++h) dot_broadcast_unsigned(acc[h], w + h, y[j]);
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
// weights[(b * kChunk / 4 + quad) * G + h], scales [G][blocks]. Each step
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
        const __m128i bytes = _mm512_cvtepi32_epi8(codes);
        int32_t* quads = weights + (b * kChunk / 4 + v * 4) * G + h;
        quads[0] = _mm_extract_epi32(bytes, 0);
        quads[G] = _mm_extract_epi32(bytes, 1);
        quads[2 * G] = _mm_extract_epi32(bytes, 2);
        quads[3 * G] = _mm_extract_epi32(bytes, 3);
      }
      weight_scales[h * blocks + b] = largest[h] / 255.0f;
    }
  }
}

template <int G>
FRUGAL_AVX512_VNNI void chunk_group(const Context& c, int h0, int64_t c0, int64_t c1) {
  alignas(64) float scores[G * kChunk];
  alignas(64) int32_t weights[kMostLatentBlocks * kChunk / 4 * G];  // [blocks][kChunk / 4][G]
  float weight_scales[G * kMostLatentBlocks];
  const int64_t k0 = c0 / kTile;
  const int tiles = static_cast<int>((c1 - c0 + kTile - 1) / kTile);
  // The first head group fetches the span's next chunk, line by line as it
  // reads this one, so that memory streams while the dot products run.
  for (int k = 0; k < tiles; ++k) {
    const int64_t next = k0 + k + kChunkTiles;
    tile_scores<G>(c, h0, c.tile(k0 + k), static_cast<int>(c1 - c0) - k * kTile, scores, k * kTile,
                   h0 == 0 && next < c.end_tile ? c.tile(next) : nullptr);
  }
  chunk_weights<G>(c, h0, k0, static_cast<int>(c1 - c0), scores, weights, weight_scales);
  chunk_values<G>(c, h0, k0, tiles, weights, weight_scales);
}

void chunk_avx512(const Context& c, int64_t c0, int64_t c1) {
  int h0 = 0;
  for (; h0 + 16 <= c.args.heads; h0 += 16) chunk_group<16>(c, h0, c0, c1);
  for (; h0 + 8 <= c.args.heads; h0 += 8) chunk_group<8>(c, h0, c0, c1);
  for (; h0 + 4 <= c.args.heads; h0 += 4) chunk_group<4>(c, h0, c0, c1);
  for (; h0 < c.args.heads; ++h0) chunk_group<1>(c, h0, c0, c1);
}

#endif

}  // namespace

void latent_attention_q8_span_at(SimdLevel level, const LatentAttentionQ8Args& args, int64_t begin, int64_t end,
                                 const AttentionSpan& span) {
  const LatentTileLayout& l = args.layout;
  if (args.heads < 1 || args.positions < 0 || begin < 0 || begin % kTile != 0)
    fail("q8 latent attention: bad arguments (heads ", args.heads, ", span from ", begin, ")");
  end = std::min(end, args.positions);
  thread_local QuantizedQueries queries;
  thread_local SpanState state;
  state.reset(args.heads, l.latent_padded);
  if (begin < end) {
    quantize_queries(args, queries);
    const Context context{args, queries, state, LatentTileLayout::tiles_for(end)};
#if defined(__x86_64__)
    const bool vnni = level == SimdLevel::Avx512 && cpu_features().avx512_vnni && l.latent_blocks <= kMostLatentBlocks;
#else
    const bool vnni = false;
#endif
    for (int64_t c0 = begin; c0 < end; c0 += kChunk) {
      const int64_t c1 = std::min(end, c0 + kChunk);
#if defined(__x86_64__)
      if (vnni) {
        chunk_avx512(context, c0, c1);
        continue;
      }
#endif
      chunk_portable(context, c0, c1);
    }
  }
  for (int h = 0; h < args.heads; ++h) {
    span.max[h] = state.max[h];
    span.sum[h] = state.sum[h];
    std::copy_n(state.head_out(h), l.latent_dim, span.out + static_cast<std::size_t>(h) * l.latent_dim);
  }
}

void latent_attention_q8_span(const LatentAttentionQ8Args& args, int64_t begin, int64_t end,
                              const AttentionSpan& span) {
  latent_attention_q8_span_at(simd_level(), args, begin, end, span);
}

void merge_attention_spans(int heads, int latent_dim, const AttentionSpan* spans, int count, float* result,
                           int64_t result_stride) {
  for (int h = 0; h < heads; ++h) {
    float m = -INFINITY;
    for (int k = 0; k < count; ++k) m = std::max(m, spans[k].max[h]);
    float* out = result + h * result_stride;
    std::fill_n(out, latent_dim, 0.0f);
    float total = 0.0f;
    for (int k = 0; k < count; ++k) {
      if (spans[k].sum[h] <= 0.0f) continue;
      const float factor = std::exp(spans[k].max[h] - m);
      total += factor * spans[k].sum[h];
      const float* o = spans[k].out + static_cast<std::size_t>(h) * latent_dim;
      for (int i = 0; i < latent_dim; ++i) out[i] += factor * o[i];
    }
    if (total <= 0.0f) fail("q8 latent attention: head ", h, " saw no positions");
    for (int i = 0; i < latent_dim; ++i) out[i] /= total;
  }
}

void latent_attention_q8(const LatentAttentionQ8Args& args, float* out, int64_t out_stride) {
  std::vector<float> max(static_cast<std::size_t>(args.heads)), sum(max.size());
  std::vector<float> partial(static_cast<std::size_t>(args.heads) * args.layout.latent_dim);
  const AttentionSpan span{max.data(), sum.data(), partial.data()};
  latent_attention_q8_span(args, 0, args.positions, span);
  merge_attention_spans(args.heads, args.layout.latent_dim, &span, 1, out, out_stride);
}

}  // namespace frugal
