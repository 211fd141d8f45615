// The q8 latent attention's chunk with AVX2 (latent_attention_q8.h): the
// portable twin's integers in 256-bit vectors, for CPUs without AVX-512
// VNNI. AVX2 has no byte dot product that accumulates in 32 bits, and
// vpmaddubsw's 16-bit pair sums would saturate on unsigned cache bytes, so:
// - scores make the cache's codes signed and move their signs onto the
//   query bytes (vpsignb), then |code| times the signed query byte pairs to
//   at most 2 * 127 * 127, which 16 bits hold; vpmaddwd adds the pairs;
// - the weighted sum widens codes and weights (up to 255) to 16 bits and
//   uses vpmaddwd, two positions per product; each column's two partial
//   sums meet once per chunk.
#include <algorithm>
#include <cstring>
#include <vector>

#include "frugal/kernels/latent_attention_q8_chunk.h"
#include "frugal/kernels/simd_math.h"

namespace frugal::q8_attention {

#if defined(__x86_64__)
namespace {

constexpr int kHalfTile = kTile / 2;  // positions per 256-bit vector of scores

// Scores of half a tile (8 positions from `half * 8`) for G heads from h0,
// into scores[h * kChunk + at], masked to -inf from position `valid` of
// the tile on.
template <int G>
FRUGAL_AVX2 void half_tile_scores(const Context& c, int h0, const uint8_t* tile, int half, int valid, float* scores,
                                  int at) {
  const LatentTileLayout& l = c.args.layout;
  const QuantizedQueries& q = c.queries;
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(kLatentCodeOffset));
  const __m256i ones = _mm256_set1_epi16(1);
  for (int h = 0; h < G; ++h) _mm256_storeu_ps(scores + (h0 + h) * kChunk + at, _mm256_setzero_ps());
  for (int b = 0; b < q.blocks; ++b) {
    const bool rope = b == l.latent_blocks;
    const int q0 = rope ? l.latent_padded / 4 : b * kQuadsPerBlock;
    const int q1 = rope ? q0 + l.rope_padded / 4 : std::min(q0 + kQuadsPerBlock, l.latent_padded / 4);
    __m256i acc[G];
    for (int h = 0; h < G; ++h) acc[h] = _mm256_setzero_si256();
    for (int g = q0; g < q1; ++g) {
      // q0 may be the rope block's first quad: lines follow one another
      const __m256i codes = _mm256_xor_si256(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile + static_cast<std::size_t>(g) * 64 + half * 32)), flip);
      const __m256i magnitude = _mm256_abs_epi8(codes);
      const int32_t* query = q.quad_codes(g) + h0;
      for (int h = 0; h < G; ++h) {
        const __m256i signed_query = _mm256_sign_epi8(_mm256_set1_epi32(query[h]), codes);
        acc[h] = _mm256_add_epi32(acc[h], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, signed_query), ones));
      }
    }
    const __m256 row_scales = _mm256_loadu_ps((rope ? c.rope_scales(tile) : c.latent_scales(tile, b)) + half * kHalfTile);
    for (int h = 0; h < G; ++h) {
      float* total = scores + (h0 + h) * kChunk + at;
      _mm256_storeu_ps(total, _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[h]),
                                              _mm256_mul_ps(row_scales, _mm256_set1_ps(q.scale(h0 + h, b))),
                                              _mm256_loadu_ps(total)));
    }
  }
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 dead = _mm256_castsi256_ps(_mm256_cmpgt_epi32(lanes, _mm256_set1_epi32(valid - half * kHalfTile - 1)));
  for (int h = 0; h < G; ++h) {
    float* total = scores + (h0 + h) * kChunk + at;
    _mm256_storeu_ps(total, _mm256_blendv_ps(_mm256_loadu_ps(total), _mm256_set1_ps(-INFINITY), dead));
  }
}

FRUGAL_AVX2 void tile_scores(const Context& c, const uint8_t* tile, int valid, float* scores, int at) {
  for (int half = 0; half < 2; ++half) {
    int h0 = 0;
    for (; h0 + 8 <= c.args.heads; h0 += 8) half_tile_scores<8>(c, h0, tile, half, valid, scores, at + half * kHalfTile);
    for (; h0 < c.args.heads; ++h0) half_tile_scores<1>(c, h0, tile, half, valid, scores, at + half * kHalfTile);
  }
}

// Head h's softmax bookkeeping over the chunk (vectors of scores, the
// masked ones -inf), then its weights per block as 16-bit codes
// weights[b * kChunk + t] (as quantize_weights_portable), with their scales.
FRUGAL_AVX2 void head_weights(const Context& c, int h, int64_t k0, int vectors, float* s, uint16_t* weights,
                              float* weight_scales) {
  __m256 largest = _mm256_set1_ps(-INFINITY);
  for (int v = 0; v < vectors; ++v) largest = _mm256_max_ps(largest, _mm256_loadu_ps(s + v * 8));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, largest);
  const float m = c.state.raise_max(h, *std::max_element(lanes, lanes + 8));
  __m256 total = _mm256_setzero_ps();
  for (int v = 0; v < vectors; ++v) {
    const __m256 p = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + v * 8), _mm256_set1_ps(m)));  // -inf: exactly 0
    _mm256_storeu_ps(s + v * 8, p);
    total = _mm256_add_ps(total, p);
  }
  _mm256_store_ps(lanes, total);
  float sum = 0.0f;
  for (const float x : lanes) sum += x;
  c.state.sum[h] += sum;
  for (int b = 0; b < c.args.layout.latent_blocks; ++b) {
    float w[kChunk];
    __m256 w_max = _mm256_setzero_ps();
    for (int v = 0; v < vectors; ++v) {
      const float* row_scales = c.latent_scales(c.tile(k0 + v / 2), b) + (v % 2) * kHalfTile;
      const __m256 wv = _mm256_mul_ps(_mm256_loadu_ps(s + v * 8), _mm256_loadu_ps(row_scales));
      _mm256_storeu_ps(w + v * 8, wv);
      w_max = _mm256_max_ps(w_max, wv);
    }
    _mm256_store_ps(lanes, w_max);
    const float largest_w = *std::max_element(lanes, lanes + 8);
    const __m256 inverse = _mm256_set1_ps(largest_w > 0.0f ? 255.0f / largest_w : 0.0f);
    for (int v = 0; v < vectors; ++v) {
      const __m256i codes = _mm256_cvttps_epi32(
          _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(w + v * 8), inverse), _mm256_set1_ps(0.5f)));
      const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(codes), _mm256_extracti128_si256(codes, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(weights + b * kChunk + v * 8), packed);
    }
    weight_scales[b] = largest_w / 255.0f;
  }
}

// 4 positions x 4 columns of codes (one 16-byte lane of a quad's line) as
// 16-bit signed codes, column-major: [column][position].
FRUGAL_AVX2 inline __m256i column_quad(const uint8_t* lane) {
  const __m128i by_column = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lane)),
                                             _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  return _mm256_sub_epi16(_mm256_cvtepu8_epi16(by_column), _mm256_set1_epi16(kLatentCodeOffset));
}

// The chunk's weighted sum for 4 heads from h0 (G <= 4), 8 columns at a
// time: per head two accumulators (columns 0-3 and 4-7), each column's
// dword pair holding positions {0, 1} and {2, 3} of every quad.
template <int G>
FRUGAL_AVX2 void chunk_values(const Context& c, int h0, int64_t k0, int tiles, const uint16_t* weights,
                              const float* weight_scales) {
  const LatentTileLayout& l = c.args.layout;
  const int blocks = l.latent_blocks;
  for (int cb = 0; cb < l.latent_padded / 8; ++cb) {
    const int b = cb * 8 / kLatentScaleBlock;
    __m256i acc[G][2];
    for (int h = 0; h < G; ++h) acc[h][0] = acc[h][1] = _mm256_setzero_si256();
    for (int k = 0; k < tiles; ++k) {
      const uint8_t* lines = c.tile(k0 + k) + l.latent_codes_offset() + static_cast<std::size_t>(cb) * 2 * 64;
      for (int j = 0; j < 4; ++j) {  // position quad j: lane j of each line
        const __m256i low = column_quad(lines + 16 * j), high = column_quad(lines + 64 + 16 * j);
        for (int h = 0; h < G; ++h) {
          int64_t four;
          std::memcpy(&four, weights + ((h0 + h) * blocks + b) * kChunk + k * kTile + 4 * j, sizeof four);
          const __m256i w = _mm256_set1_epi64x(four);
          acc[h][0] = _mm256_add_epi32(acc[h][0], _mm256_madd_epi16(low, w));
          acc[h][1] = _mm256_add_epi32(acc[h][1], _mm256_madd_epi16(high, w));
        }
      }
    }
    for (int h = 0; h < G; ++h) {
      const __m256i sums = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[h][0], acc[h][1]), 0xD8);
      float* o = c.state.head_out(h0 + h) + cb * 8;
      _mm256_storeu_ps(o, _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums),
                                          _mm256_set1_ps(weight_scales[(h0 + h) * blocks + b]), _mm256_loadu_ps(o)));
    }
  }
}

}  // namespace

FRUGAL_AVX2 void chunk_avx2(const Context& c, int64_t c0, int64_t c1) {
  const int heads = c.args.heads, blocks = c.args.layout.latent_blocks;
  thread_local std::vector<float> scores, weight_scales;
  thread_local std::vector<uint16_t> weights;
  scores.resize(static_cast<std::size_t>(heads) * kChunk);
  weights.resize(static_cast<std::size_t>(heads) * blocks * kChunk);
  weight_scales.resize(static_cast<std::size_t>(heads) * blocks);
  const int64_t k0 = c0 / kTile;
  const int tiles = static_cast<int>((c1 - c0 + kTile - 1) / kTile);
  for (int k = 0; k < tiles; ++k)
    tile_scores(c, c.tile(k0 + k), static_cast<int>(c1 - c0) - k * kTile, scores.data(), k * kTile);
  for (int h = 0; h < heads; ++h)
    head_weights(c, h, k0, tiles * 2, scores.data() + h * kChunk, weights.data() + h * blocks * kChunk,
                 weight_scales.data() + h * blocks);
  int h0 = 0;
  for (; h0 + 4 <= heads; h0 += 4) chunk_values<4>(c, h0, k0, tiles, weights.data(), weight_scales.data());
  for (; h0 < heads; ++h0) chunk_values<1>(c, h0, k0, tiles, weights.data(), weight_scales.data());
}

#else
void chunk_avx2(const Context&, int64_t, int64_t) {}
#endif

}  // namespace frugal::q8_attention
