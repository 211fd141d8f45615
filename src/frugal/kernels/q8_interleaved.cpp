#include "frugal/kernels/q8_interleaved.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/kernels/interleaved_rows.h"
#include "frugal/kernels/q8.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

using interleaved::input_dword;
#if defined(__x86_64__)
using interleaved::prefetch_next_tile;
#endif

constexpr int kRows = kQ8InterleavedRows;
constexpr int64_t kGroupBlockBytes = kRows * kQ8Block;  // 512

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

// R groups of 16 rows by T inputs. Per block: 8 vpdpbusd per group and
// input, each the group's dword k (16 rows, one lane each) against the
// input's dword k broadcast; the int32 sums start at -128 times the input
// block's sum (the codes' offset), then one conversion and one FMA.
// Each block asks for the next tile's lines that `prefetch` names
// (interleaved_rows.h), but not for its own stream ahead, as Q4 does:
// with prefetch_ahead, one input's Q8 stream ran slower than on the
// hardware prefetchers alone, by 15-30% in q8 decode on a Zen 4 host and
// by 0-20% on one thread on the earlier host (docs/performance.md).
template <int R, int T>
FRUGAL_AVX512_VNNI void dot_groups_avx512(const uint8_t* packed, const float* packed_scales, const int8_t* x,
                                          const float* x_scales, const int32_t* x_sums, int64_t n, float* y,
                                          int64_t y_stride, const interleaved::Prefetch& prefetch = {}) {
  const int64_t blocks = n / kQ8Block;
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    prefetch_next_tile(prefetch, b);
    __m512i dot[R][T];
    for (int t = 0; t < T; ++t) {
      const __m512i offset = _mm512_set1_epi32(-128 * x_sums[t * blocks + b]);
      for (int r = 0; r < R; ++r) dot[r][t] = offset;
    }
    if constexpr (T == 1 && R == 1) {
      // One input: two chains of 4 vpdpbusd instead of one of 8, so the
      // loads are not held back by the instruction's latency.
      __m512i odd = _mm512_setzero_si512();
      for (int k = 0; k < kQ8Block / 4; k += 2) {
        const uint8_t* line = packed + b * kGroupBlockBytes + 64 * k;
        dot[0][0] = _mm512_dpbusd_epi32(dot[0][0], _mm512_loadu_si512(line), _mm512_set1_epi32(input_dword(x + b * kQ8Block, k)));
        odd = _mm512_dpbusd_epi32(odd, _mm512_loadu_si512(line + 64), _mm512_set1_epi32(input_dword(x + b * kQ8Block, k + 1)));
      }
      dot[0][0] = _mm512_add_epi32(dot[0][0], odd);
    } else {
      for (int k = 0; k < kQ8Block / 4; ++k) {
        __m512i w[R];
        for (int r = 0; r < R; ++r) w[r] = _mm512_loadu_si512(packed + (r * blocks + b) * kGroupBlockBytes + 64 * k);
        for (int t = 0; t < T; ++t) {
          const __m512i xk = _mm512_set1_epi32(input_dword(x + t * n + b * kQ8Block, k));
          for (int r = 0; r < R; ++r) dot[r][t] = _mm512_dpbusd_epi32(dot[r][t], w[r], xk);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      const __m512 w_scale = _mm512_loadu_ps(packed_scales + (r * blocks + b) * kRows);
      for (int t = 0; t < T; ++t)
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[r][t]),
                                    _mm512_mul_ps(w_scale, _mm512_set1_ps(x_scales[t * blocks + b])), acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride + r * kRows, acc[r][t]);
}

// AVX2 (no VNNI): each 32-byte half of a line is dword k of 8 rows.
// vpmaddubsw wants unsigned by signed bytes and saturates pairs at 2^15, so
// the stored code's offset is undone (w = code ^ 0x80) and w's sign moved
// onto x: |w| * (x sign w) sums two products of at most 127 x 127. One group
// and T inputs (1 to 4, codes n apart, outputs y_stride apart): each loaded
// half and its |w| serve all T, and every input's sums and float steps are
// those of the one-input kernel, so a row's result does not depend on T.
template <int T>
FRUGAL_AVX2 void dot_group_avx2(const uint8_t* packed, const float* packed_scales, const int8_t* x,
                                const float* x_scales, const int32_t* /*x_sums: the offset is undone in w*/, int64_t n,
                                float* y, int64_t y_stride) {
  const int64_t blocks = n / kQ8Block;
  const __m256i offset = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    __m256i dot[T][2];
    for (int t = 0; t < T; ++t) dot[t][0] = dot[t][1] = _mm256_setzero_si256();
    for (int k = 0; k < kQ8Block / 4; ++k) {
      __m256i xk[T];
      for (int t = 0; t < T; ++t) xk[t] = _mm256_set1_epi32(input_dword(x + t * n + b * kQ8Block, k));
      for (int h = 0; h < 2; ++h) {
        const uint8_t* half = packed + b * kGroupBlockBytes + 64 * k + 32 * h;  // dword k of rows 8h .. 8h+7
        const __m256i w = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(half)), offset);
        const __m256i magnitude = _mm256_abs_epi8(w);
        for (int t = 0; t < T; ++t) {
          const __m256i pairs = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(xk[t], w));
          dot[t][h] = _mm256_add_epi32(dot[t][h], _mm256_madd_epi16(pairs, ones));
        }
      }
    }
    interleaved::add_block_avx2<T>(dot, packed_scales + b * kRows, x_scales + b, blocks, acc);
  }
  interleaved::store_outputs_avx2<T>(acc, y, y_stride);
}

#endif

// This layout's kernels for interleaved::dot_groups_at.
struct Kernels {
  static constexpr int64_t kGroupBlockBytes = frugal::kGroupBlockBytes;
  static constexpr auto portable = dot_portable;
#if defined(__x86_64__)
  template <int T>
  static constexpr auto avx2_inputs = dot_group_avx2<T>;
  template <int R, int T>
  static constexpr auto avx512 = dot_groups_avx512<R, T>;
#endif
};

}  // namespace

void interleave_q8_rows(const int8_t* codes, const float* scales, int64_t rows, int64_t cols, uint8_t* packed,
                        float* packed_scales) {
  if (rows % kRows != 0 || cols % kQ8Block != 0)
    fail("interleaved Q8: ", rows, " x ", cols, " is not whole groups of ", kRows, " rows and blocks of ", kQ8Block);
  const int64_t blocks = cols / kQ8Block;
  for (int64_t g = 0; g < rows / kRows; ++g)
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t* block = packed + (g * blocks + b) * kGroupBlockBytes;
      for (int j = 0; j < kRows; ++j) {
        const int8_t* row = codes + (g * kRows + j) * cols + b * kQ8Block;
        for (int k = 0; k < kQ8Block / 4; ++k)
          for (int m = 0; m < 4; ++m)
            block[4 * (kRows * k + j) + m] = static_cast<uint8_t>(int32_t{row[4 * k + m]} + 128);
        packed_scales[(g * blocks + b) * kRows + j] = scales[(g * kRows + j) * blocks + b];
      }
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
  interleaved::dot_groups_at<Kernels>(level, packed, packed_scales, groups, x, x_scales, x_sums, inputs, n, y,
                                      y_stride);
}

void dot_q8_interleaved(const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                        const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n, float* y,
                        int64_t y_stride) {
  dot_q8_interleaved_at(simd_level(), packed, packed_scales, groups, x, x_scales, x_sums, inputs, n, y, y_stride);
}

}  // namespace frugal
