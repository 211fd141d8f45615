#include "frugal/kernels/q8_interleaved.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/kernels/q8.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

constexpr int kRows = kQ8InterleavedRows;
constexpr int64_t kGroupBlockBytes = kRows * kQ8Block;  // 256

inline int64_t byte_index(int64_t blocks, int64_t r, int64_t c) {
  const int64_t g = r / kRows, j = r % kRows, b = c / kQ8Block, k = (c % kQ8Block) / 4, m = c % 4;
  return (g * blocks + b) * kGroupBlockBytes + 4 * (kRows * k + j) + m;
}

void dot_portable(const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                  const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n, float* y,
                  int64_t y_stride) {
  const int64_t blocks = n / kQ8Block;
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t t = 0; t < inputs; ++t)
      for (int j = 0; j < kRows; ++j) {
        float sum = 0.0f;
        for (int64_t b = 0; b < blocks; ++b) {
          const uint8_t* block = packed + (g * blocks + b) * kGroupBlockBytes;
          const int8_t* xb = x + t * n + b * kQ8Block;
          int32_t dot = 0;
          for (int k = 0; k < kQ8Block / 4; ++k)
            for (int m = 0; m < 4; ++m) dot += int32_t{block[4 * (kRows * k + j) + m]} * int32_t{xb[4 * k + m]};
          dot -= 128 * x_sums[t * blocks + b];
          sum += static_cast<float>(dot) * (packed_scales[(g * blocks + b) * kRows + j] * x_scales[t * blocks + b]);
        }
        y[t * y_stride + g * kRows + j] = sum;
      }
}

#if defined(__x86_64__)
#define FRUGAL_AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

// R groups of 8 rows by T inputs. Per block: the input's 8 dwords spread in
// 4 vectors (dwords 2q in lanes 0-7, 2q+1 in lanes 8-15), 4 vpdpbusd per
// group, the offset taken out of lanes 0-7 (lanes j and 8+j are summed at
// the end), one conversion and one FMA per group and input.
//
// `ahead` (may be null): the next R groups, asked for a block at a time as
// these are read, when the weights stream from memory (one input).
template <int R, int T>
FRUGAL_AVX512_VNNI void dot_groups_avx512(const uint8_t* packed, const float* packed_scales, const int8_t* x,
                                          const float* x_scales, const int32_t* x_sums, int64_t n, float* y,
                                          int64_t y_stride, const uint8_t* ahead = nullptr,
                                          const float* ahead_scales = nullptr) {
  const int64_t blocks = n / kQ8Block;
  __m512i spread_index[4];
  for (int q = 0; q < 4; ++q)
    spread_index[q] = _mm512_set_epi32(2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1,
                                       2 * q + 1, 2 * q, 2 * q, 2 * q, 2 * q, 2 * q, 2 * q, 2 * q, 2 * q);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    __m512i w[R][4];
    __m512 w_scale[R];
    if (ahead != nullptr) {
      for (int r = 0; r < R; ++r) {
        for (int q = 0; q < 4; ++q)
          _mm_prefetch(reinterpret_cast<const char*>(ahead + (r * blocks + b) * kGroupBlockBytes + 64 * q), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(ahead_scales + (r * blocks + b) * kRows), _MM_HINT_T0);
      }
    }
    for (int r = 0; r < R; ++r) {
      const uint8_t* block = packed + (r * blocks + b) * kGroupBlockBytes;
      for (int q = 0; q < 4; ++q) w[r][q] = _mm512_loadu_si512(block + 64 * q);
      w_scale[r] = _mm512_broadcast_f32x8(_mm256_loadu_ps(packed_scales + (r * blocks + b) * kRows));
    }
    for (int t = 0; t < T; ++t) {
      const __m512i xv = _mm512_castsi256_si512(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + t * n + b * kQ8Block)));
      __m512i spread[4];
      for (int q = 0; q < 4; ++q) spread[q] = _mm512_permutexvar_epi32(spread_index[q], xv);
      const __m512i offset = _mm512_set1_epi32(128 * x_sums[t * blocks + b]);
      const __m512 x_scale = _mm512_set1_ps(x_scales[t * blocks + b]);
      for (int r = 0; r < R; ++r) {
        __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[r][0], spread[0]);
        for (int q = 1; q < 4; ++q) dot = _mm512_dpbusd_epi32(dot, w[r][q], spread[q]);
        dot = _mm512_mask_sub_epi32(dot, 0x00FF, dot, offset);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(w_scale[r], x_scale), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t)
      _mm256_storeu_ps(y + t * y_stride + r * kRows,
                       _mm256_add_ps(_mm512_castps512_ps256(acc[r][t]), _mm512_extractf32x8_ps(acc[r][t], 1)));
}

template <int T>
FRUGAL_AVX512_VNNI void dot_avx512(const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                                   const float* x_scales, const int32_t* x_sums, int64_t n, float* y,
                                   int64_t y_stride) {
  constexpr int R = T == 1 ? 1 : 2;  // groups per step: their codes stay in registers across the inputs
  const int64_t group_bytes = kRows * n, group_scales = kRows * (n / kQ8Block);
  int64_t g = 0;
  for (; g + R <= groups; g += R) {
    const bool ahead = T == 1 && g + 2 * R <= groups;  // one input: the weights stream from memory
    dot_groups_avx512<R, T>(packed + g * group_bytes, packed_scales + g * group_scales, x, x_scales, x_sums, n,
                            y + g * kRows, y_stride, ahead ? packed + (g + R) * group_bytes : nullptr,
                            ahead ? packed_scales + (g + R) * group_scales : nullptr);
  }
  for (; g < groups; ++g)
    dot_groups_avx512<1, T>(packed + g * group_bytes, packed_scales + g * group_scales, x, x_scales, x_sums, n,
                            y + g * kRows, y_stride);
}
#endif

}  // namespace

void interleave_q8_rows(const int8_t* codes, const float* scales, int64_t rows, int64_t cols, uint8_t* packed,
                        float* packed_scales) {
  if (rows % kRows != 0 || cols % kQ8Block != 0)
    fail("interleaved Q8: ", rows, " x ", cols, " is not whole groups of ", kRows, " rows and blocks of ", kQ8Block);
  const int64_t blocks = cols / kQ8Block;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      packed[byte_index(blocks, r, c)] = static_cast<uint8_t>(int32_t{codes[r * cols + c]} + 128);
    for (int64_t b = 0; b < blocks; ++b)
      packed_scales[((r / kRows) * blocks + b) * kRows + r % kRows] = scales[r * blocks + b];
  }
}

int q8_interleaved_code(const uint8_t* packed, int64_t cols, int64_t r, int64_t c) {
  return int32_t{packed[byte_index(cols / kQ8Block, r, c)]} - 128;
}

float q8_interleaved_scale(const float* packed_scales, int64_t cols, int64_t r, int64_t c) {
  const int64_t blocks = cols / kQ8Block;
  return packed_scales[((r / kRows) * blocks + c / kQ8Block) * kRows + r % kRows];
}

void q8_interleaved_decode_row(const uint8_t* group, const float* group_scales, int64_t cols, int j, float* out) {
  for (int64_t b = 0; b < cols / kQ8Block; ++b) {
    const uint8_t* block = group + b * kGroupBlockBytes;
    const float scale = group_scales[b * kRows + j];
    for (int k = 0; k < kQ8Block / 4; ++k)
      for (int m = 0; m < 4; ++m)
        out[b * kQ8Block + 4 * k + m] = static_cast<float>(int32_t{block[4 * (kRows * k + j) + m]} - 128) * scale;
  }
}

void q8_input_sums(const int8_t* x, int64_t n, int32_t* sums) {
  for (int64_t b = 0; b < n / kQ8Block; ++b) {
    int32_t sum = 0;
    for (int i = 0; i < kQ8Block; ++i) sum += x[b * kQ8Block + i];
    sums[b] = sum;
  }
}

void dot_q8_interleaved_at(SimdLevel level, const uint8_t* packed, const float* packed_scales, int64_t groups,
                           const int8_t* x, const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n,
                           float* y, int64_t y_stride) {
  const int64_t blocks = n / kQ8Block;
  for (int64_t t0 = 0; t0 < inputs; t0 += 4) {
    const int64_t group = std::min<int64_t>(4, inputs - t0);
    const int8_t* xg = x + t0 * n;
    const float* xsg = x_scales + t0 * blocks;
    const int32_t* sg = x_sums + t0 * blocks;
    float* yg = y + t0 * y_stride;
#if defined(__x86_64__)
    if (level == SimdLevel::Avx512 && cpu_features().avx512_vnni) {
      switch (group) {
        case 1: dot_avx512<1>(packed, packed_scales, groups, xg, xsg, sg, n, yg, y_stride); break;
        case 2: dot_avx512<2>(packed, packed_scales, groups, xg, xsg, sg, n, yg, y_stride); break;
        case 3: dot_avx512<3>(packed, packed_scales, groups, xg, xsg, sg, n, yg, y_stride); break;
        default: dot_avx512<4>(packed, packed_scales, groups, xg, xsg, sg, n, yg, y_stride); break;
      }
      continue;
    }
#endif
    (void)level;
    dot_portable(packed, packed_scales, groups, xg, xsg, sg, group, n, yg, y_stride);
  }
}

void dot_q8_interleaved(const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                        const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n, float* y,
                        int64_t y_stride) {
  dot_q8_interleaved_at(simd_level(), packed, packed_scales, groups, x, x_scales, x_sums, inputs, n, y, y_stride);
}

}  // namespace frugal
