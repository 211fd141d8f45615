#pragma once
// Absorbed MLA attention (spec section 4) over the q8 latent cache
// (latent_tiles_q8.h), in int8 dot products:
//   score[h][t] = (q_latent[h] . latent[t] + q_rope[h] . rope_key[t]) * scale
//   out[h]      = sum_t softmax(score[h])[t] latent[t]
// Queries are quantised per head and 128-value block like the cached rows,
// so a score is a sum of integer dot products times two scales. The
// weighted sum runs in integers too: a chunk's probabilities, each times
// its position's block scale, are quantised to 8 unsigned bits against the
// chunk's largest (0..255, one scale per head, block and chunk of 128
// positions).
// At 16K positions this is 2.3 G multiply-adds per token for V2-Lite's 16
// heads; int8 runs them ~4x faster than float FMAs here (vpdpbusd: 64 per
// instruction). Errors against float attention over the same cached rows:
// ~0.4% of a block's largest query value in each score term, and ~0.4% of a
// chunk's largest probability in each weight (measured in the tests).
//
// Work splits by positions: a span of tiles gives each head its running
// maximum, sum of exponentials and unnormalised output (flash-decoding),
// and merge_attention_spans combines spans, so one token's attention can
// use every thread while each reads disjoint cache rows.
#include <cstdint>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/kernels/latent_tiles_q8.h"

namespace frugal {

struct LatentAttentionQ8Args {
  int heads = 0;
  int64_t positions = 0;  // cached positions the queries see (from 0)
  float scale = 1.0f;
  const float* q_latent = nullptr;  // head h's latent query at q_latent + h * q_latent_stride
  int64_t q_latent_stride = 0;
  const float* q_rope = nullptr;    // head h's rope query at q_rope + h * q_rope_stride
  int64_t q_rope_stride = 0;
  LatentTileLayout layout;
  const uint8_t* tiles = nullptr;   // tile k at tiles + k * layout.tile_bytes()
};

// The queries as int8 codes per head and block (the rope key one more
// block), padded like the cache's columns, with each block's scale (times
// the softmax scale) and 128 times its code sum: a dot product with the
// cache's offset codes, minus that, is the dot product with the true codes.
struct QuantizedLatentQueries {
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

// Quantises one token's queries (the same codes at every SIMD level).
void quantize_latent_queries(const LatentAttentionQ8Args& args, QuantizedLatentQueries& queries);

// A span's partial result per head: the running maximum score, the sum of
// e^(score - max) and the unnormalised output (latent_dim values).
struct AttentionSpan {
  float* max = nullptr;  // [heads]
  float* sum = nullptr;  // [heads]
  float* out = nullptr;  // [heads, latent_dim]
};

// Attends over positions [begin, end) (begin a multiple of 16; end clipped
// to args.positions) with the token's queries quantised by
// quantize_latent_queries (once for all its spans), or quantising them.
// A span with no positions gives max -inf, sum 0.
void latent_attention_q8_span(const LatentAttentionQ8Args& args, const QuantizedLatentQueries& queries,
                              int64_t begin, int64_t end, const AttentionSpan& span);
void latent_attention_q8_span_at(SimdLevel level, const LatentAttentionQ8Args& args,
                                 const QuantizedLatentQueries& queries, int64_t begin, int64_t end,
                                 const AttentionSpan& span);
void latent_attention_q8_span_at(SimdLevel level, const LatentAttentionQ8Args& args, int64_t begin, int64_t end,
                                 const AttentionSpan& span);

// out[h] = sum_k e^(max_k - M) out_k[h] / sum_k e^(max_k - M) sum_k[h]: the
// attention over all spans, head h's result at result + h * result_stride.
void merge_attention_spans(int heads, int latent_dim, const AttentionSpan* spans, int count, float* result,
                           int64_t result_stride);

// Whole attention in one call (one thread): the span [0, positions), merged.
void latent_attention_q8(const LatentAttentionQ8Args& args, float* out, int64_t out_stride);

}  // namespace frugal
