#include "frugal/kernels/q4_interleaved.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/kernels/interleaved_rows.h"
#include "frugal/kernels/q4.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

using interleaved::input_dword;
#if defined(__x86_64__)
using interleaved::prefetch_ahead;
using interleaved::prefetch_next_tile;
#endif

constexpr int kRows = kQ4InterleavedRows;
constexpr int64_t kGroupBlockBytes = kRows * kQ4Block / 2;  // 256

// Where value c of row j sits in its group's block: byte, and high nibble or not.
inline int64_t byte_in_block(int j, int64_t c_in_block) {
  const int64_t k = c_in_block / 4, m = c_in_block % 4;
  return 64 * (k % 4) + 4 * j + m;
}

inline int code_in_block(const uint8_t* block, int j, int64_t c_in_block) {
  const uint8_t byte = block[byte_in_block(j, c_in_block)];
  return c_in_block / 4 >= 4 ? byte >> 4 : byte & 0x0F;
}

void dot_portable(const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                  const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n, float* y,
                  int64_t y_stride) {
  const int64_t blocks = n / kQ4Block;
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t t = 0; t < inputs; ++t)
      for (int j = 0; j < kRows; ++j) {
        float sum = 0.0f;
        for (int64_t b = 0; b < blocks; ++b) {
          const uint8_t* block = packed + (g * blocks + b) * kGroupBlockBytes;
          const int8_t* xb = x + t * n + b * kQ4Block;
          int32_t dot = -8 * x_sums[t * blocks + b];
          for (int i = 0; i < kQ4Block; ++i) dot += code_in_block(block, j, i) * int32_t{xb[i]};
          sum += static_cast<float>(dot) * (packed_scales[(g * blocks + b) * kRows + j] * x_scales[t * blocks + b]);
        }
        y[t * y_stride + g * kRows + j] = sum;
      }
}

#if defined(__x86_64__)

// R groups by T inputs, as q8_interleaved.cpp's kernel, with the codes of
// each line unpacked once per group for all T inputs.
template <int R, int T>
FRUGAL_AVX512_VNNI void dot_groups_avx512(const uint8_t* packed, const float* packed_scales, const int8_t* x,
                                          const float* x_scales, const int32_t* x_sums, int64_t n, float* y,
                                          int64_t y_stride, const interleaved::Prefetch& prefetch = {}) {
  const int64_t blocks = n / kQ4Block;
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    if (prefetch.stream_end != nullptr)
      for (int r = 0; r < R; ++r)
        prefetch_ahead(packed + (r * blocks + b) * kGroupBlockBytes, kGroupBlockBytes, prefetch.stream_end,
                       packed_scales + (r * blocks + b) * kRows);
    prefetch_next_tile(prefetch, b);
    __m512i dot[R][T];
    for (int t = 0; t < T; ++t) {
      const __m512i offset = _mm512_set1_epi32(-8 * x_sums[t * blocks + b]);
      for (int r = 0; r < R; ++r) dot[r][t] = offset;
    }
    [[maybe_unused]] __m512i dot_high = _mm512_setzero_si512();
    for (int q = 0; q < 4; ++q) {
      __m512i low[R], high[R];
      for (int r = 0; r < R; ++r) {
        const __m512i line = _mm512_loadu_si512(packed + (r * blocks + b) * kGroupBlockBytes + 64 * q);
        low[r] = _mm512_and_si512(line, low_nibbles);
        high[r] = _mm512_and_si512(_mm512_srli_epi16(line, 4), low_nibbles);
      }
      for (int t = 0; t < T; ++t) {
        const int8_t* xb = x + t * n + b * kQ4Block;
        const __m512i x_low = _mm512_set1_epi32(input_dword(xb, q));
        const __m512i x_high = _mm512_set1_epi32(input_dword(xb, q + 4));
        for (int r = 0; r < R; ++r) {
          if constexpr (T == 1 && R == 1) {
            // One input: low and high nibbles in two chains of 4 vpdpbusd
            // rather than one of 8 (the loads wait less on its latency).
            dot[r][t] = _mm512_dpbusd_epi32(dot[r][t], low[r], x_low);
            dot_high = _mm512_dpbusd_epi32(dot_high, high[r], x_high);
          } else {
            dot[r][t] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(dot[r][t], low[r], x_low), high[r], x_high);
          }
        }
      }
    }
    if constexpr (T == 1 && R == 1) dot[0][0] = _mm512_add_epi32(dot[0][0], dot_high);
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

// AVX2 (no VNNI): each 32-byte half of a line holds 8 rows; codes 0..15
// times int8 inputs stay far inside vpmaddubsw's 16-bit pair sums. One group
// and T inputs (1 to 4, codes n apart, outputs y_stride apart): each loaded
// half is split into nibbles once for all T, and every input's sums and
// float steps are those of one input alone.
template <int T>
FRUGAL_AVX2 void dot_group_avx2(const uint8_t* packed, const float* packed_scales, const int8_t* x,
                                const float* x_scales, const int32_t* x_sums, int64_t n, float* y, int64_t y_stride) {
  const int64_t blocks = n / kQ4Block;
  const __m256i low_nibbles = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    __m256i dot[T][2];
    for (int t = 0; t < T; ++t) dot[t][0] = dot[t][1] = _mm256_set1_epi32(-8 * x_sums[t * blocks + b]);
    for (int q = 0; q < 4; ++q) {
      __m256i x_low[T], x_high[T];
      for (int t = 0; t < T; ++t) {
        const int8_t* xb = x + t * n + b * kQ4Block;
        x_low[t] = _mm256_set1_epi32(input_dword(xb, q));
        x_high[t] = _mm256_set1_epi32(input_dword(xb, q + 4));
      }
      for (int h = 0; h < 2; ++h) {
        const __m256i line =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed + b * kGroupBlockBytes + 64 * q + 32 * h));
        const __m256i low = _mm256_and_si256(line, low_nibbles);
        const __m256i high = _mm256_and_si256(_mm256_srli_epi16(line, 4), low_nibbles);
        for (int t = 0; t < T; ++t) {
          const __m256i pairs =
              _mm256_add_epi16(_mm256_maddubs_epi16(low, x_low[t]), _mm256_maddubs_epi16(high, x_high[t]));
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

void interleave_q4_rows(const uint8_t* codes, const float* scales, int64_t rows, int64_t cols, uint8_t* packed,
                        float* packed_scales) {
  if (rows % kRows != 0 || cols % kQ4Block != 0)
    fail("interleaved Q4: ", rows, " x ", cols, " is not whole groups of ", kRows, " rows and blocks of ", kQ4Block);
  const int64_t blocks = cols / kQ4Block;
  for (int64_t g = 0; g < rows / kRows; ++g)
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t* block = packed + (g * blocks + b) * kGroupBlockBytes;
      for (int j = 0; j < kRows; ++j) {
        const uint8_t* row = codes + (g * kRows + j) * cols + b * kQ4Block;
        for (int i = 0; i < kQ4Block / 2; ++i)  // values 0-15 low nibbles, 16-31 high
          block[byte_in_block(j, i)] = static_cast<uint8_t>(row[i] | (row[i + kQ4Block / 2] << 4));
        packed_scales[(g * blocks + b) * kRows + j] = scales[(g * kRows + j) * blocks + b];
      }
    }
}

int q4_interleaved_code(const uint8_t* packed, int64_t cols, int64_t r, int64_t c) {
  const int64_t blocks = cols / kQ4Block;
  return code_in_block(packed + ((r / kRows) * blocks + c / kQ4Block) * kGroupBlockBytes, static_cast<int>(r % kRows),
                       c % kQ4Block);
}

void q4_interleaved_decode_row(const uint8_t* group, const float* group_scales, int64_t cols, int j, float* out) {
  for (int64_t b = 0; b < cols / kQ4Block; ++b) {
    const uint8_t* block = group + b * kGroupBlockBytes;
    const float scale = group_scales[b * kRows + j];
    for (int i = 0; i < kQ4Block; ++i)
      out[b * kQ4Block + i] = static_cast<float>(code_in_block(block, j, i) - 8) * scale;
  }
}

void dot_q4_interleaved_at(SimdLevel level, const uint8_t* packed, const float* packed_scales, int64_t groups,
                           const int8_t* x, const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n,
                           float* y, int64_t y_stride) {
  interleaved::dot_groups_at<Kernels>(level, packed, packed_scales, groups, x, x_scales, x_sums, inputs, n, y,
                                      y_stride);
}

void dot_q4_interleaved(const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                        const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n, float* y,
                        int64_t y_stride) {
  dot_q4_interleaved_at(simd_level(), packed, packed_scales, groups, x, x_scales, x_sums, inputs, n, y, y_stride);
}

}  // namespace frugal
