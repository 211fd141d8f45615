#include "frugal/kernels/latent_attention_q8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/latent_attention_q8_chunk.h"

namespace frugal {

void quantize_latent_queries(const LatentAttentionQ8Args& a, QuantizedLatentQueries& q) {
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

namespace q8_attention {
namespace {

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

}  // namespace

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

}  // namespace q8_attention

using namespace q8_attention;

void latent_attention_q8_span_at(SimdLevel level, const LatentAttentionQ8Args& args,
                                 const QuantizedLatentQueries& queries, int64_t begin, int64_t end,
                                 const AttentionSpan& span) {
  const LatentTileLayout& l = args.layout;
  if (args.heads < 1 || args.positions < 0 || begin < 0 || begin % kTile != 0)
    fail("q8 latent attention: bad arguments (heads ", args.heads, ", span from ", begin, ")");
  if (queries.heads != args.heads || queries.quads != (l.latent_padded + l.rope_padded) / 4)
    fail("q8 latent attention: queries quantised for another shape");
  end = std::min(end, args.positions);
  thread_local SpanState state;
  state.reset(args.heads, l.latent_padded);
  if (begin < end) {
    // Reads ahead into the next span's first chunk too: the thread that
    // goes on with it (parallel_for_balanced gives each thread consecutive
    // spans) then starts warm instead of waiting on memory.
    const Context context{args, queries, state, LatentTileLayout::tiles_for(std::min(args.positions, end + kChunk))};
    // AVX-512 without VNNI runs the AVX2 chunk.
    auto chunk = chunk_portable;
#if defined(__x86_64__)
    if (level == SimdLevel::Avx512 && cpu_features().avx512_vnni && l.latent_blocks <= kMostLatentBlocks) {
      chunk = chunk_avx512;
    } else if (level >= SimdLevel::Avx2) {
      chunk = chunk_avx2;
    }
#endif
    for (int64_t c0 = begin; c0 < end; c0 += kChunk) chunk(context, c0, std::min(end, c0 + kChunk));
  }
  for (int h = 0; h < args.heads; ++h) {
    span.max[h] = state.max[h];
    span.sum[h] = state.sum[h];
    std::copy_n(state.head_out(h), l.latent_dim, span.out + static_cast<std::size_t>(h) * l.latent_dim);
  }
}

void latent_attention_q8_span_at(SimdLevel level, const LatentAttentionQ8Args& args, int64_t begin, int64_t end,
                                 const AttentionSpan& span) {
  thread_local QuantizedLatentQueries queries;
  quantize_latent_queries(args, queries);
  latent_attention_q8_span_at(level, args, queries, begin, end, span);
}

void latent_attention_q8_span(const LatentAttentionQ8Args& args, const QuantizedLatentQueries& queries,
                              int64_t begin, int64_t end, const AttentionSpan& span) {
  latent_attention_q8_span_at(simd_level(), args, queries, begin, end, span);
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
  latent_attention_q8_span_at(simd_level(), args, 0, args.positions, span);
  merge_attention_spans(args.heads, args.layout.latent_dim, &span, 1, out, out_stride);
}

}  // namespace frugal
