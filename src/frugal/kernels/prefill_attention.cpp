#include "frugal/kernels/prefill_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/latent_attention.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

constexpr int64_t kBlock = 16;  // queries per block: the lanes of a vector

// Queries [s0, s0 + count) through latent_attention's kernel, the block's
// queries as its heads, each seeing its own prefix.
void block_generic(SimdLevel level, const PrefillAttentionArgs& a, int64_t s0, int64_t count) {
  thread_local std::vector<float> scratch;
  int64_t visible[kBlock];
  for (int64_t j = 0; j < count; ++j) visible[j] = a.first + s0 + j + 1;
  LatentAttentionArgs args;
  args.heads = static_cast<int>(count);
  args.positions = visible[count - 1];
  args.visible = visible;
  args.latent_dim = a.key_dim;
  args.rope_dim = a.rope_dim;
  args.scale = a.scale;
  args.q_latent = a.q_nope + s0 * a.q_stride;
  args.q_latent_stride = a.q_stride;
  args.q_rope = a.q_rope + s0 * a.q_stride;
  args.q_rope_stride = a.q_stride;
  args.latents = a.keys;
  args.latent_row_stride = a.key_stride;
  args.rope_keys = a.rope_keys;
  args.rope_row_stride = a.rope_stride;
  args.values = a.values;
  args.value_dim = a.value_dim;
  args.value_row_stride = a.value_stride;
  scratch.resize(static_cast<std::size_t>(count * args.positions));
  args.scratch = scratch.data();
  args.out = a.out + s0 * a.out_stride;
  args.out_stride = a.out_stride;
  latent_attention_at(level, args);
}

#if defined(__x86_64__)

constexpr int kTileKeys = 8;  // positions per register tile: 8 accumulators cover the FMA latency

// Scores of positions [0, positions) for the block's transposed queries
// (qt: [dims][16], already scaled) into scores[t][16].
FRUGAL_AVX512 void block_scores(const PrefillAttentionArgs& a, const float* qt, int64_t positions, float* scores) {
  for (int64_t t0 = 0; t0 < positions; t0 += kTileKeys) {
    const float* key[kTileKeys];
    const float* rope_key[kTileKeys];
    for (int p = 0; p < kTileKeys; ++p) {  // past the end: the last row again, its scores unused
      const int64_t t = std::min(t0 + p, positions - 1);
      key[p] = a.keys + t * a.key_stride;
      rope_key[p] = a.rope_keys + t * a.rope_stride;
    }
    __m512 acc[kTileKeys];
    for (auto& x : acc) x = _mm512_setzero_ps();
    for (int64_t d = 0; d < a.key_dim; ++d) {
      const __m512 q = _mm512_loadu_ps(qt + d * kBlock);
      for (int p = 0; p < kTileKeys; ++p) acc[p] = _mm512_fmadd_ps(_mm512_set1_ps(key[p][d]), q, acc[p]);
    }
    const float* qt_rope = qt + a.key_dim * kBlock;
    for (int64_t d = 0; d < a.rope_dim; ++d) {
      const __m512 q = _mm512_loadu_ps(qt_rope + d * kBlock);
      for (int p = 0; p < kTileKeys; ++p) acc[p] = _mm512_fmadd_ps(_mm512_set1_ps(rope_key[p][d]), q, acc[p]);
    }
    for (int p = 0; p < kTileKeys; ++p) _mm512_storeu_ps(scores + (t0 + p) * kBlock, acc[p]);
  }
}

// out^T[d0 + i][j] = sum_t v[t][d0 + i] p[t][j] for `width` dims (16 when
// Full, a constant the compiler unrolls), query j's outputs written times
// inverse[j].
template <bool Full>
FRUGAL_AVX512 void block_values(const PrefillAttentionArgs& a, const float* probs, int64_t positions, int64_t d0,
                                int width, __m512 inverse, int64_t s0, int64_t count) {
  const int dims = Full ? static_cast<int>(kBlock) : width;
  __m512 acc[kBlock];
  for (auto& x : acc) x = _mm512_setzero_ps();
  for (int64_t t = 0; t < positions; ++t) {
    const __m512 p = _mm512_loadu_ps(probs + t * kBlock);
    const float* v = a.values + t * a.value_stride + d0;
    for (int i = 0; i < dims; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(v[i]), p, acc[i]);
  }
  alignas(64) float lanes[kBlock][kBlock];  // [dim][query]
  for (int i = 0; i < dims; ++i) _mm512_store_ps(lanes[i], _mm512_mul_ps(acc[i], inverse));
  for (int64_t j = 0; j < count; ++j)
    for (int i = 0; i < dims; ++i) a.out[(s0 + j) * a.out_stride + d0 + i] = lanes[i][j];
}

FRUGAL_AVX512 void block_avx512(const PrefillAttentionArgs& a, int64_t s0, int64_t count) {
  thread_local std::vector<float> qt, probs;
  const int64_t dims = a.key_dim + a.rope_dim;
  const int64_t positions = a.first + s0 + count;  // what the block's last query sees
  qt.assign(static_cast<std::size_t>(dims * kBlock), 0.0f);  // lanes past count stay 0
  for (int64_t j = 0; j < count; ++j) {
    const float* nope = a.q_nope + (s0 + j) * a.q_stride;
    const float* rope = a.q_rope + (s0 + j) * a.q_stride;
    for (int64_t d = 0; d < a.key_dim; ++d) qt[d * kBlock + j] = nope[d] * a.scale;
    for (int64_t d = 0; d < a.rope_dim; ++d) qt[(a.key_dim + d) * kBlock + j] = rope[d] * a.scale;
  }
  probs.resize(static_cast<std::size_t>((positions + kTileKeys - 1) / kTileKeys * kTileKeys * kBlock));
  block_scores(a, qt.data(), positions, probs.data());

  // Query j sees positions up to first + s0 + j: from first + s0 + 1 on,
  // position t is hidden from lanes j < t - first - s0.
  const __m512 hidden = _mm512_set1_ps(-INFINITY);
  for (int64_t t = a.first + s0 + 1; t < positions; ++t)
    _mm512_mask_storeu_ps(probs.data() + t * kBlock, lanes_left(t - a.first - s0), hidden);
  __m512 top = hidden;
  for (int64_t t = 0; t < positions; ++t) top = _mm512_max_ps(top, _mm512_loadu_ps(probs.data() + t * kBlock));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t t = 0; t < positions; ++t) {
    float* p = probs.data() + t * kBlock;
    const __m512 s = _mm512_loadu_ps(p);
    const __mmask16 seen = _mm512_cmp_ps_mask(s, hidden, _CMP_NEQ_OQ);
    const __m512 e = _mm512_maskz_mov_ps(seen, exp_avx512(_mm512_sub_ps(s, top)));
    _mm512_storeu_ps(p, e);
    sum = _mm512_add_ps(sum, e);
  }
  const __m512 inverse = _mm512_div_ps(_mm512_set1_ps(1.0f), sum);  // every lane sees position 0: sum >= 1
  for (int64_t d0 = 0; d0 < a.value_dim; d0 += kBlock) {
    const int width = static_cast<int>(std::min(kBlock, a.value_dim - d0));
    if (width == kBlock) {
      block_values<true>(a, probs.data(), positions, d0, width, inverse, s0, count);
    } else {
      block_values<false>(a, probs.data(), positions, d0, width, inverse, s0, count);
    }
  }
}

#endif

}  // namespace

void prefill_attention_at(SimdLevel level, const PrefillAttentionArgs& a) {
  if (a.queries < 0 || a.first < 0 || a.key_dim < 0 || a.rope_dim < 0 || a.value_dim < 1)
    fail("prefill attention: bad shape (", a.queries, " queries from position ", a.first, ")");
  for (int64_t s0 = 0; s0 < a.queries; s0 += kBlock) {
    const int64_t count = std::min(kBlock, a.queries - s0);
#if defined(__x86_64__)
    if (level == SimdLevel::Avx512) {
      block_avx512(a, s0, count);
      continue;
    }
#endif
    block_generic(level, a, s0, count);
  }
}

void prefill_attention(const PrefillAttentionArgs& args) { prefill_attention_at(simd_level(), args); }

}  // namespace frugal
