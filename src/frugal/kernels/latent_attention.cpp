#include "frugal/kernels/latent_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/core/error.h"

#include "frugal/kernels/ops.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

// Row t of cached rows as float32 (BF16 widened exactly).
void decode_cached_row(DType dtype, const void* rows, int64_t t, int64_t stride, int64_t width, float* out) {
  const uint8_t* row = static_cast<const uint8_t*>(rows) + static_cast<std::size_t>(t * stride) * dtype_size(dtype);
  decode_to_f32(dtype, row, static_cast<std::size_t>(width), out);
}

void latent_attention_portable(const LatentAttentionArgs& a) {
  const int64_t T = a.positions, r = a.latent_dim, dr = a.rope_dim, dv = a.value_dim;
  std::vector<float> latents(static_cast<std::size_t>(T * r)), keys(static_cast<std::size_t>(T * dr));
  std::vector<float> values(static_cast<std::size_t>(T * dv));
  for (int64_t t = 0; t < T; ++t) {
    decode_cached_row(a.rows_dtype, a.latents, t, a.latent_row_stride, r, latents.data() + t * r);
    decode_cached_row(a.rows_dtype, a.rope_keys, t, a.rope_row_stride, dr, keys.data() + t * dr);
    decode_cached_row(a.rows_dtype, a.values, t, a.value_row_stride, dv, values.data() + t * dv);
  }
  for (int h = 0; h < a.heads; ++h) {
    const float* q_latent = a.q_latent + h * a.q_latent_stride;
    const float* q_rope = a.q_rope + h * a.q_rope_stride;
    float* p = a.scratch + h * T;
    for (int64_t t = 0; t < T; ++t) {
      const float* latent = latents.data() + t * r;
      const float* key = keys.data() + t * dr;
      float score = 0.0f;
      for (int64_t i = 0; i < r; ++i) score += q_latent[i] * latent[i];
      for (int64_t i = 0; i < dr; ++i) score += q_rope[i] * key[i];
      p[t] = score * a.scale;
    }
    if (a.visible != nullptr) std::fill(p + a.visible[h], p + T, -INFINITY);
    softmax(p, T);
  }
  for (int h = 0; h < a.heads; ++h) std::fill_n(a.out + h * a.out_stride, dv, 0.0f);
  for (int64_t t = 0; t < T; ++t) {
    const float* value = values.data() + t * dv;
    for (int h = 0; h < a.heads; ++h) {
      const float weight = a.scratch[h * T + t];
      float* out = a.out + h * a.out_stride;
      for (int64_t i = 0; i < dv; ++i) out[i] += weight * value[i];
    }
  }
}

#if defined(__x86_64__)
// Positions per tile: a tile's rows (256 x 576 floats at DeepSeek's sizes,
// 576 KiB) stay in L2 while every head group passes over them.
constexpr int64_t kTilePositions = 256;
constexpr int kMaxGroup = 4;  // heads per pass: 4 accumulators per row chunk

// Scores of a tile: scratch[h * tile_stride + (t - t0)].
inline int64_t tile_stride(const LatentAttentionArgs& a) { return std::min(a.positions, kTilePositions); }

// 16 cached values (lanes past the mask read as 0) as float32: Row is float
// or uint16_t for BF16 bits (widened exactly).
FRUGAL_AVX512 inline __m512 load_row(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
FRUGAL_AVX512 inline __m512 load_row(const uint16_t* p, __mmask16 m) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

constexpr int64_t kPrefetchRows = 8;

// scratch[h][t - t0] = score for heads [h0, h0 + H) and positions [t0, t1).
template <typename Row, int H>
FRUGAL_AVX512 void scores_avx512(const LatentAttentionArgs& a, int h0, int64_t t0, int64_t t1) {
  const int64_t r = a.latent_dim, dr = a.rope_dim;
  const auto* latents = static_cast<const Row*>(a.latents);
  const auto* rope_keys = static_cast<const Row*>(a.rope_keys);
  for (int64_t t = t0; t < t1; ++t) {
    __m512 acc[kMaxGroup];  // heads past H stay zero
    for (int j = 0; j < kMaxGroup; ++j) acc[j] = _mm512_setzero_ps();
    const Row* latent = latents + t * a.latent_row_stride;
    // Long rows (DeepSeek's 512 latents: 1-2 KiB) cross a page every row or
    // two, where the hardware prefetchers stop: ask for a later row now.
    const char* ahead = reinterpret_cast<const char*>(latents + std::min(t + kPrefetchRows, t1 - 1) * a.latent_row_stride);
    for (int64_t byte = 0; byte < r * static_cast<int64_t>(sizeof(Row)); byte += 64)
      _mm_prefetch(ahead + byte, _MM_HINT_T0);
    for (int64_t i = 0; i < r; i += 16) {
      const __mmask16 m = lanes_left(r - i);
      const __m512 x = load_row(latent + i, m);
      for (int j = 0; j < H; ++j)
        acc[j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a.q_latent + (h0 + j) * a.q_latent_stride + i), x, acc[j]);
    }
    const Row* key = rope_keys + t * a.rope_row_stride;
    for (int64_t i = 0; i < dr; i += 16) {
      const __mmask16 m = lanes_left(dr - i);
      const __m512 x = load_row(key + i, m);
      for (int j = 0; j < H; ++j)
        acc[j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a.q_rope + (h0 + j) * a.q_rope_stride + i), x, acc[j]);
    }
    float sums[kMaxGroup];
    _mm_storeu_ps(sums, reduce_add4_avx512(acc[0], acc[1], acc[2], acc[3]));
    for (int j = 0; j < H; ++j) a.scratch[(h0 + j) * tile_stride(a) + (t - t0)] = sums[j] * a.scale;
  }
}

// The same for queries short enough to stay in registers (C = latent plus
// rope vectors, at most 4, as in small models: 32 + 16 values): per position
// only the cached row is loaded.
template <typename Row, int H, int C>
FRUGAL_AVX512 void scores_resident_avx512(const LatentAttentionArgs& a, int h0, int64_t t0, int64_t t1) {
  const int64_t r = a.latent_dim;
  const int latent_vectors = static_cast<int>((r + 15) / 16);
  const Row* base[C];  // vector c of position t at base[c] + t * stride[c]
  int64_t stride[C], offset[C], width[C];
  __mmask16 mask[C];
  __m512 q[H][C];
  for (int c = 0; c < C; ++c) {
    const bool latent = c < latent_vectors;
    offset[c] = 16 * (latent ? c : c - latent_vectors);
    width[c] = latent ? r : a.rope_dim;
    base[c] = static_cast<const Row*>(latent ? a.latents : a.rope_keys) + offset[c];
    stride[c] = latent ? a.latent_row_stride : a.rope_row_stride;
    mask[c] = lanes_left(width[c] - offset[c]);
    for (int j = 0; j < H; ++j)
      q[j][c] = _mm512_maskz_loadu_ps(mask[c], latent ? a.q_latent + (h0 + j) * a.q_latent_stride + offset[c]
                                                      : a.q_rope + (h0 + j) * a.q_rope_stride + offset[c]);
  }
  for (int64_t t = t0; t < t1; ++t) {
    __m512 acc[kMaxGroup];  // heads past H stay zero
    for (int j = 0; j < kMaxGroup; ++j) acc[j] = _mm512_setzero_ps();
    for (int c = 0; c < C; ++c) {
      const __m512 x =
          load_row(base[c] + t * stride[c], mask[c]);
      for (int j = 0; j < H; ++j) acc[j] = _mm512_fmadd_ps(q[j][c], x, acc[j]);
    }
    float sums[kMaxGroup];
    _mm_storeu_ps(sums, reduce_add4_avx512(acc[0], acc[1], acc[2], acc[3]));
    for (int j = 0; j < H; ++j) a.scratch[(h0 + j) * tile_stride(a) + (t - t0)] = sums[j] * a.scale;
  }
}

template <typename Row, int H>
FRUGAL_AVX512 void scores_group_avx512(const LatentAttentionArgs& a, int h0, int64_t t0, int64_t t1) {
  switch ((a.latent_dim + 15) / 16 + (a.rope_dim + 15) / 16) {
    case 1: scores_resident_avx512<Row, H, 1>(a, h0, t0, t1); return;
    case 2: scores_resident_avx512<Row, H, 2>(a, h0, t0, t1); return;
    case 3: scores_resident_avx512<Row, H, 3>(a, h0, t0, t1); return;
    case 4: scores_resident_avx512<Row, H, 4>(a, h0, t0, t1); return;
    default: scores_avx512<Row, H>(a, h0, t0, t1); return;
  }
}

// One head's scores for a tile (n of them at p) become e^(score - max),
// where max is the head's running maximum over every tile so far; returns
// the factor e^(old max - new max) by which the earlier sum and output must
// be scaled (0 before the first tile).
FRUGAL_AVX512 float online_softmax_tile_avx512(float* p, int64_t n, float& running_max, float& running_sum) {
  __m512 max_lanes = _mm512_set1_ps(-INFINITY);
  for (int64_t t = 0; t < n; t += 16) {
    const __mmask16 m = lanes_left(n - t);
    max_lanes = _mm512_mask_max_ps(max_lanes, m, max_lanes, _mm512_maskz_loadu_ps(m, p + t));
  }
  const float new_max = std::max(running_max, _mm512_reduce_max_ps(max_lanes));
  const float correction = running_max == -INFINITY ? 0.0f : std::exp(running_max - new_max);
  const __m512 max_score = _mm512_set1_ps(new_max);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t t = 0; t < n; t += 16) {
    const __mmask16 m = lanes_left(n - t);
    const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + t), max_score));
    _mm512_mask_storeu_ps(p + t, m, e);
    sum = _mm512_mask_add_ps(sum, m, sum, e);
  }
  running_max = new_max;
  running_sum = running_sum * correction + reduce_add_avx512(sum);
  return correction;
}

FRUGAL_AVX512 void scale_avx512(float* x, int64_t n, float factor) {
  const __m512 f = _mm512_set1_ps(factor);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes_left(n - i);
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), f));
  }
}

// out[h][i0 .. i0 + 16 C) += sum over t in [t0, t1) of p[h][t] value[t][...]
// for heads [h0, h0 + H): H x C accumulators stay in registers over the tile.
template <typename Row, int H, int C>
FRUGAL_AVX512 void weighted_sum_avx512(const LatentAttentionArgs& a, int h0, int64_t i0, int64_t t0, int64_t t1) {
  const int64_t r = a.value_dim, stride = tile_stride(a);
  const auto* values = static_cast<const Row*>(a.values);
  __mmask16 m[C];
  for (int k = 0; k < C; ++k) m[k] = lanes_left(r - i0 - 16 * k);
  __m512 acc[H][C];
  for (int j = 0; j < H; ++j)
    for (int k = 0; k < C; ++k) acc[j][k] = _mm512_maskz_loadu_ps(m[k], a.out + (h0 + j) * a.out_stride + i0 + 16 * k);
  for (int64_t t = t0; t < t1; ++t) {
    const Row* value = values + t * a.value_row_stride + i0;
    __m512 x[C];
    for (int k = 0; k < C; ++k)
      x[k] = load_row(value + 16 * k, m[k]);
    for (int j = 0; j < H; ++j) {
      const __m512 weight = _mm512_set1_ps(a.scratch[(h0 + j) * stride + (t - t0)]);
      for (int k = 0; k < C; ++k) acc[j][k] = _mm512_fmadd_ps(weight, x[k], acc[j][k]);
    }
  }
  for (int j = 0; j < H; ++j)
    for (int k = 0; k < C; ++k) _mm512_mask_storeu_ps(a.out + (h0 + j) * a.out_stride + i0 + 16 * k, m[k], acc[j][k]);
}

// The value row split into blocks of 4, 2 or 1 vectors (the last one masked).
template <typename Row, int H>
FRUGAL_AVX512 void weighted_sum_rows_avx512(const LatentAttentionArgs& a, int h0, int64_t t0, int64_t t1) {
  for (int64_t i = 0; i < a.value_dim;) {
    const int64_t vectors = (a.value_dim - i + 15) / 16;
    if (vectors >= 4) {
      weighted_sum_avx512<Row, H, 4>(a, h0, i, t0, t1);
      i += 64;
    } else if (vectors >= 2) {
      weighted_sum_avx512<Row, H, 2>(a, h0, i, t0, t1);
      i += 32;
    } else {
      weighted_sum_avx512<Row, H, 1>(a, h0, i, t0, t1);
      i += 16;
    }
  }
}

template <typename Row>
FRUGAL_AVX512 void latent_attention_avx512(const LatentAttentionArgs& a) {
  float running_max[kLatentAttentionMostHeads], running_sum[kLatentAttentionMostHeads];
  for (int h = 0; h < a.heads; ++h) {
    running_max[h] = -INFINITY;
    running_sum[h] = 0.0f;
    std::fill_n(a.out + h * a.out_stride, a.value_dim, 0.0f);
  }
  for (int64_t t0 = 0; t0 < a.positions; t0 += kTilePositions) {
    const int64_t t1 = std::min(a.positions, t0 + kTilePositions);
    for (int h0 = 0; h0 < a.heads; h0 += kMaxGroup) {
      switch (std::min(kMaxGroup, a.heads - h0)) {
        case 1: scores_group_avx512<Row, 1>(a, h0, t0, t1); break;
        case 2: scores_group_avx512<Row, 2>(a, h0, t0, t1); break;
        case 3: scores_group_avx512<Row, 3>(a, h0, t0, t1); break;
        default: scores_group_avx512<Row, 4>(a, h0, t0, t1); break;
      }
    }
    for (int h = 0; h < a.heads; ++h) {
      if (a.visible != nullptr && a.visible[h] < t1) {  // later positions hidden: weight e^-inf = 0
        float* p = a.scratch + h * tile_stride(a);
        std::fill(p + std::max<int64_t>(a.visible[h] - t0, 0), p + (t1 - t0), -INFINITY);
      }
      const float correction =
          online_softmax_tile_avx512(a.scratch + h * tile_stride(a), t1 - t0, running_max[h], running_sum[h]);
      if (t0 > 0) scale_avx512(a.out + h * a.out_stride, a.value_dim, correction);
    }
    for (int h0 = 0; h0 < a.heads; h0 += kMaxGroup) {
      switch (std::min(kMaxGroup, a.heads - h0)) {
        case 1: weighted_sum_rows_avx512<Row, 1>(a, h0, t0, t1); break;
        case 2: weighted_sum_rows_avx512<Row, 2>(a, h0, t0, t1); break;
        case 3: weighted_sum_rows_avx512<Row, 3>(a, h0, t0, t1); break;
        default: weighted_sum_rows_avx512<Row, 4>(a, h0, t0, t1); break;
      }
    }
  }
  for (int h = 0; h < a.heads; ++h) scale_avx512(a.out + h * a.out_stride, a.value_dim, 1.0f / running_sum[h]);
}

// AVX2: 8 cached values as float32, as load_row.
FRUGAL_AVX2 inline __m256 load_row8(const float* p) { return _mm256_loadu_ps(p); }
FRUGAL_AVX2 inline __m256 load_row8(const uint16_t* p) {
  return _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}

// The lane sums of four vectors, as [sum a, sum b, sum c, sum d].
FRUGAL_AVX2 inline __m128 reduce_add4_avx2(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 sums = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(sums), _mm256_extractf128_ps(sums, 1));
}

// AVX2, for latent and rope widths that are multiples of 8: scores for 4
// heads per row load, then softmax and the weighted sum (two passes over
// the cache; the AVX-512 path's single tiled pass is the one tuned).
template <typename Row>
FRUGAL_AVX2 void latent_attention_avx2(const LatentAttentionArgs& a) {
  const int64_t T = a.positions, r = a.latent_dim, dr = a.rope_dim, dv = a.value_dim;
  const auto* latents = static_cast<const Row*>(a.latents);
  const auto* rope_keys = static_cast<const Row*>(a.rope_keys);
  const auto* values = static_cast<const Row*>(a.values);
  for (int h0 = 0; h0 < a.heads; h0 += kMaxGroup) {
    const int heads = std::min(kMaxGroup, a.heads - h0);
    for (int64_t t = 0; t < T; ++t) {
      __m256 acc[kMaxGroup] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int64_t i = 0; i < r; i += 8) {
        const __m256 x = load_row8(latents + t * a.latent_row_stride + i);
        for (int j = 0; j < heads; ++j)
          acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(a.q_latent + (h0 + j) * a.q_latent_stride + i), x, acc[j]);
      }
      for (int64_t i = 0; i < dr; i += 8) {
        const __m256 x = load_row8(rope_keys + t * a.rope_row_stride + i);
        for (int j = 0; j < heads; ++j)
          acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(a.q_rope + (h0 + j) * a.q_rope_stride + i), x, acc[j]);
      }
      float sums[kMaxGroup];
      _mm_storeu_ps(sums, reduce_add4_avx2(acc[0], acc[1], acc[2], acc[3]));
      for (int j = 0; j < heads; ++j) a.scratch[(h0 + j) * T + t] = sums[j] * a.scale;
    }
  }
  for (int h = 0; h < a.heads; ++h) {
    float* p = a.scratch + h * T;
    if (a.visible != nullptr) std::fill(p + a.visible[h], p + T, -INFINITY);
    const float top = *std::max_element(p, p + T);
    float sum = 0.0f;
    int64_t t = 0;
    for (; t + 8 <= T; t += 8) {
      const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(p + t), _mm256_set1_ps(top)));
      _mm256_storeu_ps(p + t, e);
      float lanes[8];
      _mm256_storeu_ps(lanes, e);
      for (float v : lanes) sum += v;
    }
    for (; t < T; ++t) sum += p[t] = std::exp(p[t] - top);
    const float inverse = 1.0f / sum;
    for (t = 0; t < T; ++t) p[t] *= inverse;
    std::fill_n(a.out + h * a.out_stride, dv, 0.0f);
  }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < dv; i += 8) {
      const __m256 x = load_row8(values + t * a.value_row_stride + i);
      for (int h = 0; h < a.heads; ++h) {
        float* out = a.out + h * a.out_stride + i;
        _mm256_storeu_ps(out, _mm256_fmadd_ps(_mm256_set1_ps(a.scratch[h * T + t]), x, _mm256_loadu_ps(out)));
      }
    }
}

#endif

}  // namespace

void latent_attention_at(SimdLevel level, const LatentAttentionArgs& packed_or_strided) {
  LatentAttentionArgs args = packed_or_strided;
  if (args.latent_row_stride == 0) args.latent_row_stride = args.latent_dim;
  if (args.rope_row_stride == 0) args.rope_row_stride = args.rope_dim;
  if (args.values == nullptr) {
    args.values = args.latents;
    args.value_dim = args.latent_dim;
    args.value_row_stride = args.latent_row_stride;
  }
  if (args.value_dim == 0) args.value_dim = args.latent_dim;
  if (args.value_row_stride == 0) args.value_row_stride = args.value_dim;
  if (args.rows_dtype != DType::F32 && args.rows_dtype != DType::BF16)
    fail("latent attention: cached rows are f32 or bf16, not ", dtype_name(args.rows_dtype),
         " (q8 caches go through latent_attention_q8)");
  for (int h = 0; args.visible != nullptr && h < args.heads; ++h)
    if (args.visible[h] < 1 || args.visible[h] > args.positions)
      fail("latent attention: head ", h, " sees ", args.visible[h], " of ", args.positions, " positions");
  if (args.heads > kLatentAttentionMostHeads)
    fail("latent attention: ", args.heads, " heads in one call (at most ", kLatentAttentionMostHeads, ")");
  if (args.q_latent_stride == 0) args.q_latent_stride = args.latent_dim;
  if (args.out_stride == 0) args.out_stride = args.value_dim;
  if (args.positions < 1) {  // nothing to attend to: a zero output, not 0/0
    for (int h = 0; h < args.heads; ++h) std::fill_n(args.out + h * args.out_stride, args.value_dim, 0.0f);
    return;
  }
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    if (args.rows_dtype == DType::BF16) {
      latent_attention_avx512<uint16_t>(args);
    } else {
      latent_attention_avx512<float>(args);
    }
    return;
  }
  if (level == SimdLevel::Avx2 && args.latent_dim % 8 == 0 && args.rope_dim % 8 == 0 && args.value_dim % 8 == 0) {
    if (args.rows_dtype == DType::BF16) {
      latent_attention_avx2<uint16_t>(args);
    } else {
      latent_attention_avx2<float>(args);
    }
    return;
  }
#endif
  (void)level;
  latent_attention_portable(args);
}

void latent_attention(const LatentAttentionArgs& args) { latent_attention_at(simd_level(), args); }

}  // namespace frugal
