#include "frugal/kernels/q8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/core/weight_arena.h"
#include "frugal/kernels/q8_interleaved.h"

#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

float dot_q8_portable(const int8_t* w, const float* ws, const int8_t* x, const float* xs, int64_t n) {
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    int32_t block = 0;
    for (int i = 0; i < kQ8Block; ++i) block += int32_t{w[b * kQ8Block + i]} * int32_t{x[b * kQ8Block + i]};
    sum += static_cast<float>(block) * (ws[b] * xs[b]);
  }
  return sum;
}

#if defined(__x86_64__)
// Two blocks per 64 bytes: vpdpbusd multiplies unsigned by signed bytes, so
// the signs move from x onto w (|x| * (w * sign x)); lanes 0-7 then hold
// block b's partial sums and lanes 8-15 block b+1's.
// `ahead` (may be null) names `ahead_bytes` of weights read next, and
// `ahead_scales` their scales: a decoded token's rows stream from memory in
// runs too short for the hardware prefetchers, so each step asks for its
// share of them.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) float dot_q8_avx512(
    const int8_t* w, const float* ws, const int8_t* x, const float* xs, int64_t n, const int8_t* ahead = nullptr,
    int64_t ahead_bytes = 0, const float* ahead_scales = nullptr) {
  __m512 sum = _mm512_setzero_ps();
  const __m512i zero = _mm512_setzero_si512();
  const __m512i lane_block = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  int64_t b = 0;
  const int64_t blocks = n / kQ8Block;
  for (; b + 2 <= blocks; b += 2) {
    if (b * kQ8Block < ahead_bytes) {  // a line of weights per step (a step reads one)
      _mm_prefetch(reinterpret_cast<const char*>(ahead + b * kQ8Block), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(ahead_scales + b), _MM_HINT_T0);
    }
    const __m512i xv = _mm512_loadu_si512(x + b * kQ8Block);
    const __m512i wv = _mm512_loadu_si512(w + b * kQ8Block);
    const __mmask64 negative = _mm512_movepi8_mask(xv);
    const __m512i signed_w = _mm512_mask_sub_epi8(wv, negative, zero, wv);
    const __m512i products = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(xv), signed_w);
    const __m512 scale = _mm512_permutexvar_ps(
        lane_block, _mm512_castps128_ps512(_mm_mul_ps(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(ws + b))),
                                                       _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(xs + b))))));
    sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), scale, sum);
  }
  float total = _mm512_reduce_add_ps(sum);
  if (b < blocks) total += dot_q8_portable(w + b * kQ8Block, ws + b, x + b * kQ8Block, xs + b, kQ8Block);
  return total;
}


// Blocks b and b+1's scale products, block b in lanes 0-7 and b+1 in 8-15.
FRUGAL_AVX512_VNNI inline __m512 pair_scales(const float* scales) {
  const __m512i lane_block = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(lane_block,
                               _mm512_castps128_ps512(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(scales)))));
}

// R rows by T inputs, each pair with exactly dot_q8_avx512's steps
// (bit-identical), but every weight load serves T inputs and every input load
// R rows. vpdpbusd wants unsigned bytes: x + 128 (x ^ 0x80) times w, less
// 128 times w's own lane sums, is x . w exactly, with no per-pair sign fix.
template <int R, int T>
FRUGAL_AVX512_VNNI void dot_q8_block_avx512(const int8_t* w, const float* ws, int64_t ws_stride, const int8_t* x,
                                            const float* xs, int64_t n, float* y, int64_t y_stride) {
  const int64_t blocks = n / kQ8Block;
  const __m512i zero = _mm512_setzero_si512(), bias = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    __m512i wv[R], correction[R];
    __m512 w_scale[R];
    for (int r = 0; r < R; ++r) {
      wv[r] = _mm512_loadu_si512(w + r * n + b * kQ8Block);
      correction[r] = _mm512_dpbusd_epi32(zero, bias, wv[r]);
      w_scale[r] = pair_scales(ws + r * ws_stride + b);
    }
    for (int t = 0; t < T; ++t) {
      const __m512i xv = _mm512_xor_si512(_mm512_loadu_si512(x + t * n + b * kQ8Block), bias);
      const __m512 x_scale = pair_scales(xs + t * blocks + b);
      for (int r = 0; r < R; ++r) {
        const __m512i products = _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, xv, wv[r]), correction[r]);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), _mm512_mul_ps(w_scale[r], x_scale), acc[r][t]);
      }
    }
  }
  store_lane_sums_avx512<R, T>(acc, y, y_stride);
  if (b < blocks)  // an odd last block, as dot_q8_avx512 finishes it
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t)
        y[t * y_stride + r] += dot_q8_portable(w + r * n + b * kQ8Block, ws + r * ws_stride + b,
                                               x + t * n + b * kQ8Block, xs + t * blocks + b, kQ8Block);
}

template <int T>
FRUGAL_AVX512_VNNI void dot_q8_rows_avx512(const int8_t* w, const float* ws, int64_t ws_stride, int64_t rows,
                                           const int8_t* x, const float* xs, int64_t n, float* y, int64_t y_stride) {
  constexpr int R = 2;  // 2 x 4 accumulators beside the loaded rows, corrections and scales
  int64_t r = 0;
  for (; r + R <= rows; r += R)
    dot_q8_block_avx512<R, T>(w + r * n, ws + r * ws_stride, ws_stride, x, xs, n, y + r, y_stride);
  for (; r < rows; ++r) dot_q8_block_avx512<1, T>(w + r * n, ws + r * ws_stride, ws_stride, x, xs, n, y + r, y_stride);
}
#endif

}  // namespace

namespace {

void quantize_q8_portable(const float* x, int64_t n, int8_t* q, float* scales) {
  for (int64_t b = 0; b * kQ8Block < n; ++b) {
    float amax = 0.0f;
    for (int i = 0; i < kQ8Block; ++i) {
      const float a = std::fabs(x[b * kQ8Block + i]);
      amax = a > amax ? a : amax;
    }
    const float scale = amax / 127.0f;
    const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
    scales[b] = scale;
    // Round half away from zero (as llama.cpp's Q8_0); |v| <= 127 by construction.
    for (int i = 0; i < kQ8Block; ++i) {
      const float v = x[b * kQ8Block + i] * inverse;
      q[b * kQ8Block + i] = static_cast<int8_t>(v >= 0.0f ? v + 0.5f : v - 0.5f);
    }
  }
}

#if defined(__x86_64__)
// The same arithmetic as the portable version (scale, multiply, +-0.5,
// truncate), sixteen values per instruction.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void quantize_q8_avx512(const float* x, int64_t n, int8_t* q,
                                                                              float* scales) {
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512i sign_bit = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  for (int64_t b = 0; b * kQ8Block < n; ++b) {
    const __m512 lo = _mm512_loadu_ps(x + b * kQ8Block), hi = _mm512_loadu_ps(x + b * kQ8Block + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
    const float scale = amax / 127.0f;
    const __m512 inverse = _mm512_set1_ps(scale > 0.0f ? 1.0f / scale : 0.0f);
    scales[b] = scale;
    for (int part = 0; part < 2; ++part) {
      const __m512 v = _mm512_mul_ps(part == 0 ? lo : hi, inverse);
      // +0.5 carrying v's sign, then truncation: round half away from zero.
      const __m512 offset = _mm512_castsi512_ps(
          _mm512_or_si512(_mm512_castps_si512(half), _mm512_and_si512(_mm512_castps_si512(v), sign_bit)));
      const __m512i rounded = _mm512_cvttps_epi32(_mm512_add_ps(v, offset));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * kQ8Block + 16 * part), _mm512_cvtepi32_epi8(rounded));
    }
  }
}
#endif

}  // namespace

void quantize_q8(const float* x, int64_t n, int8_t* q, float* scales) { quantize_q8_at(simd_level(), x, n, q, scales); }

void quantize_q8_at(SimdLevel level, const float* x, int64_t n, int8_t* q, float* scales) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512) {
    quantize_q8_avx512(x, n, q, scales);
    return;
  }
#endif
  quantize_q8_portable(x, n, q, scales);
}

float dot_q8_at(SimdLevel level, const int8_t* w, const float* ws, const int8_t* x, const float* xs, int64_t n) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512 && cpu_features().avx512_vnni) return dot_q8_avx512(w, ws, x, xs, n);
#endif
  (void)level;
  return dot_q8_portable(w, ws, x, xs, n);
}

float dot_q8(const int8_t* w, const float* ws, const int8_t* x, const float* xs, int64_t n) {
  return dot_q8_at(simd_level(), w, ws, x, xs, n);
}

void dot_q8_rows_inputs_at(SimdLevel level, const int8_t* w, const float* w_scales, int64_t w_scale_stride,
                           int64_t rows, const int8_t* x, const float* x_scales, int64_t inputs, int64_t n, float* y,
                           int64_t y_stride) {
  const int64_t blocks = n / kQ8Block;
  for (int64_t t0 = 0; t0 < inputs; t0 += 4) {
    const int64_t group = std::min<int64_t>(4, inputs - t0);
    const int8_t* xg = x + t0 * n;
    const float* xsg = x_scales + t0 * blocks;
    float* yg = y + t0 * y_stride;
#if defined(__x86_64__)
    if (level == SimdLevel::Avx512 && cpu_features().avx512_vnni && group > 1) {  // one input: dot_q8 per row
      switch (group) {
        case 2: dot_q8_rows_avx512<2>(w, w_scales, w_scale_stride, rows, xg, xsg, n, yg, y_stride); break;
        case 3: dot_q8_rows_avx512<3>(w, w_scales, w_scale_stride, rows, xg, xsg, n, yg, y_stride); break;
        default: dot_q8_rows_avx512<4>(w, w_scales, w_scale_stride, rows, xg, xsg, n, yg, y_stride); break;
      }
      continue;
    }
    if (level == SimdLevel::Avx512 && cpu_features().avx512_vnni) {  // one input: rows stream from memory
      constexpr int64_t kRowsAhead = 8;  // 16 KiB ahead at 2048 columns: measured best of 1, 2, 4, 8, 16
      for (int64_t r = 0; r < rows; ++r) {
        const bool ahead = r + kRowsAhead < rows;
        yg[r] = dot_q8_avx512(w + r * n, w_scales + r * w_scale_stride, xg, xsg, n,
                              ahead ? w + (r + kRowsAhead) * n : nullptr, ahead ? n : 0,
                              ahead ? w_scales + (r + kRowsAhead) * w_scale_stride : nullptr);
      }
      continue;
    }
#endif
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t t = 0; t < group; ++t)
        yg[t * y_stride + r] = dot_q8_at(level, w + r * n, w_scales + r * w_scale_stride, xg + t * n, xsg + t * blocks, n);
  }
}

void dot_q8_rows_inputs(const int8_t* w, const float* w_scales, int64_t w_scale_stride, int64_t rows, const int8_t* x,
                        const float* x_scales, int64_t inputs, int64_t n, float* y, int64_t y_stride) {
  dot_q8_rows_inputs_at(simd_level(), w, w_scales, w_scale_stride, rows, x, x_scales, inputs, n, y, y_stride);
}

bool q8_applicable(const WeightMatrix& w) { return w.cols % kQ8Block == 0 && w.dtype != DType::I8; }

WeightMatrix to_q8(const WeightMatrix& w, bool interleave) {
  if (!q8_applicable(w)) fail(w.name, ": cannot be stored as Q8 (", w.cols, " columns)");
  const int64_t blocks = w.cols / kQ8Block;
  const int rows_per_group = interleave && w.rows % kQ8InterleavedRows == 0 ? kQ8InterleavedRows : 1;
  // Uninitialised: every byte is written below, no need to zero 100s of MB first.
  std::shared_ptr<uint8_t[]> values = allocate_weight_bytes(static_cast<std::size_t>(w.rows * w.cols));
  auto scales = std::make_shared<std::vector<float>>(static_cast<std::size_t>(w.rows * blocks));
  ThreadPool::global().parallel_for(static_cast<std::size_t>(w.rows / rows_per_group), [&](std::size_t begin,
                                                                                            std::size_t end) {
    std::vector<float> row(static_cast<std::size_t>(w.cols));
    std::vector<int8_t> codes(static_cast<std::size_t>(rows_per_group * w.cols));
    std::vector<float> group_scales(static_cast<std::size_t>(rows_per_group * blocks));
    for (std::size_t g = begin; g < end; ++g) {
      const int64_t first = static_cast<int64_t>(g) * rows_per_group;
      for (int j = 0; j < rows_per_group; ++j) {
        w.decode_row(first + j, row.data());
        quantize_q8(row.data(), w.cols, codes.data() + j * w.cols, group_scales.data() + j * blocks);
      }
      uint8_t* out = values.get() + first * w.cols;
      float* out_scales = scales->data() + first * blocks;
      if (rows_per_group > 1) {
        interleave_q8_rows(codes.data(), group_scales.data(), rows_per_group, w.cols, out, out_scales);
      } else {
        std::copy(codes.begin(), codes.end(), reinterpret_cast<int8_t*>(out));
        std::copy(group_scales.begin(), group_scales.end(), out_scales);
      }
    }
  });
  WeightMatrix q = owned_matrix(w.name, DType::I8, w.rows, w.cols, std::shared_ptr<const void>(values, values.get()),
                                values.get(), scales, kQ8Block);
  q.interleaved_rows = rows_per_group > 1 ? rows_per_group : 0;
  return q;
}

}  // namespace frugal

