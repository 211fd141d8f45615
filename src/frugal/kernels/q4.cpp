#include "frugal/kernels/q4.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/core/weight_arena.h"
#include "frugal/kernels/q4_interleaved.h"
#include "frugal/kernels/simd_math.h"

namespace frugal {
namespace {

// Blocks [first, first + size) of a row of `blocks` blocks form one packing
// group; groups are 4 blocks, then 2, then 1 (q4.h).
struct Group {
  int64_t first;
  int size;
};

Group group_of(int64_t block, int64_t blocks) {
  const int64_t full = blocks / 4 * 4;
  if (block < full) return {block / 4 * 4, 4};
  if (blocks - full >= 2 && block < full + 2) return {full, 2};
  return {blocks - 1, 1};
}

// Codes 0..15 of one group's 32 * size values, in order.
void unpack_group(const uint8_t* bytes, int size, uint8_t* codes) {
  const int half = 16 * size;
  for (int i = 0; i < half; ++i) {
    codes[i] = bytes[i] & 0x0F;
    codes[i + half] = bytes[i] >> 4;
  }
}

// sum_b I_b w_scale_b x_scale_b - sum_b w_scale_b offset_b, I_b = sum code x.
float dot_q4_portable(const uint8_t* w, const float* ws, const int8_t* x, const float* xs, const float* offsets,
                      int64_t n) {
  const int64_t blocks = n / kQ4Block;
  float sum = 0.0f, correction = 0.0f;
  uint8_t codes[4 * kQ4Block];
  for (int64_t b = 0; b < blocks;) {
    const Group g = group_of(b, blocks);
    unpack_group(w + g.first * kQ4Block / 2, g.size, codes);
    for (int k = 0; k < g.size; ++k, ++b) {
      int32_t block = 0;
      for (int i = 0; i < kQ4Block; ++i) block += int32_t{codes[k * kQ4Block + i]} * int32_t{x[b * kQ4Block + i]};
      sum += static_cast<float>(block) * (ws[b] * xs[b]);
    }
  }
  for (int64_t b = 0; b < blocks; ++b) correction += ws[b] * offsets[b];
  return sum - correction;
}

#if defined(__x86_64__)

// 4 consecutive scales spread over two vectors: lanes 0-7 scale 0, 8-15 scale
// 1 (first), and 2, 3 (second): the lanes vpdpbusd fills per block.
FRUGAL_AVX512_VNNI inline void spread_scales(const float* scales, __m512& first, __m512& second) {
  const __m512 four = _mm512_castps128_ps512(_mm_loadu_ps(scales));
  first = _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), four);
  second = _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2), four);
}

FRUGAL_AVX512_VNNI inline __m512 pair_scales(const float* scales) {
  const __m128 two = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(scales)));
  return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                               _mm512_castps128_ps512(two));
}

constexpr int64_t kPrefetchDistance = 2;  // in groups of R rows

// R rows by T inputs. Every (row, input) pair goes through the same steps
// whatever R and T are, so each result is bit-identical to dot_q4's; the
// unpacked codes of a row serve T inputs and an input's loads R rows.
template <int R, int T>
FRUGAL_AVX512_VNNI void dot_q4_block_avx512(const uint8_t* w, const float* ws, int64_t ws_stride, const int8_t* x,
                                            const float* xs, const float* offsets, int64_t n, float* y,
                                            int64_t y_stride, const uint8_t* prefetch = nullptr,
                                            int64_t prefetch_bytes = 0) {
  const int64_t blocks = n / kQ4Block, row_bytes = n / 2;
  // Rows of a decoded token stream from memory in short runs (1 KiB at
  // DeepSeek's widths), too short for the hardware prefetchers to get ahead:
  // the caller names the rows that come next, and each step asks for its
  // share of them.
  const int64_t groups = blocks / 4, lines_per_group = groups > 0 ? (prefetch_bytes / 64 + groups - 1) / groups : 0;
  int64_t prefetched = 0;
  const __m512i zero = _mm512_setzero_si512(), low_nibbles = _mm512_set1_epi8(0x0F);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 4 <= blocks; b += 4) {  // 128 values: low nibbles blocks b, b+1; high b+2, b+3
    for (int64_t l = 0; l < lines_per_group && prefetched < prefetch_bytes; ++l, prefetched += 64)
      _mm_prefetch(reinterpret_cast<const char*>(prefetch + prefetched), _MM_HINT_T0);
    if (prefetch_bytes > 0) {  // and their scales (16 to a line: asking every step costs less than tracking)
      for (int r = 0; r < R; ++r)
        _mm_prefetch(reinterpret_cast<const char*>(ws + (r + kPrefetchDistance * R) * ws_stride + b), _MM_HINT_T0);
    }
    __m512i low[R], high[R];
    __m512 w01[R], w23[R];
    for (int r = 0; r < R; ++r) {
      const __m512i packed = _mm512_loadu_si512(w + r * row_bytes + b * kQ4Block / 2);
      low[r] = _mm512_and_si512(packed, low_nibbles);
      high[r] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibbles);
      spread_scales(ws + r * ws_stride + b, w01[r], w23[r]);
    }
    for (int t = 0; t < T; ++t) {
      const __m512i x01 = _mm512_loadu_si512(x + t * n + b * kQ4Block);
      const __m512i x23 = _mm512_loadu_si512(x + t * n + b * kQ4Block + 64);
      __m512 s01, s23;
      spread_scales(xs + t * blocks + b, s01, s23);
      for (int r = 0; r < R; ++r) {
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, low[r], x01)),
                                    _mm512_mul_ps(w01[r], s01), acc[r][t]);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, high[r], x23)),
                                    _mm512_mul_ps(w23[r], s23), acc[r][t]);
      }
    }
  }
  if (b + 2 <= blocks) {  // a group of 2: low nibbles block b, high b+1
    const __m256i nibbles = _mm256_set1_epi8(0x0F);
    for (int r = 0; r < R; ++r) {
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + r * row_bytes + b * kQ4Block / 2));
      const __m512i codes = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(packed, nibbles)),
                                               _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibbles), 1);
      const __m512 w_scale = pair_scales(ws + r * ws_stride + b);
      for (int t = 0; t < T; ++t) {
        const __m512i products = _mm512_dpbusd_epi32(zero, codes, _mm512_loadu_si512(x + t * n + b * kQ4Block));
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products),
                                    _mm512_mul_ps(w_scale, pair_scales(xs + t * blocks + b)), acc[r][t]);
      }
    }
    b += 2;
  }
  if (b < blocks) {  // a group of 1: low nibbles values 0-15, high 16-31
    const __m128i nibbles = _mm_set1_epi8(0x0F);
    for (int r = 0; r < R; ++r) {
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + r * row_bytes + b * kQ4Block / 2));
      const __m512i codes = _mm512_castsi256_si512(
          _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), nibbles), _mm_and_si128(packed, nibbles)));
      for (int t = 0; t < T; ++t) {
        const __m512i products =
            _mm512_dpbusd_epi32(zero, codes, _mm512_maskz_loadu_epi8(0xFFFFFFFFull, x + t * n + b * kQ4Block));
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products),
                                    _mm512_set1_ps(ws[r * ws_stride + b] * xs[t * blocks + b]), acc[r][t]);
      }
    }
  }
  // The -8 offset: sum_b w_scale_b offset_b, taken out of the same accumulator.
  for (int64_t c = 0; c < blocks; c += 16) {
    const __mmask16 lanes = lanes_left(blocks - c);
    for (int t = 0; t < T; ++t) {
      const __m512 offset = _mm512_maskz_loadu_ps(lanes, offsets + t * blocks + c);
      for (int r = 0; r < R; ++r)
        acc[r][t] = _mm512_fnmadd_ps(_mm512_maskz_loadu_ps(lanes, ws + r * ws_stride + c), offset, acc[r][t]);
    }
  }
  store_lane_sums_avx512<R, T>(acc, y, y_stride);
}

template <int R, int T>
FRUGAL_AVX512_VNNI void dot_q4_rows_avx512(const uint8_t* w, const float* ws, int64_t ws_stride, int64_t rows,
                                           const int8_t* x, const float* xs, const float* offsets, int64_t n,
                                           float* y, int64_t y_stride) {
  int64_t r = 0;
  const int64_t row_bytes = n / 2;
  for (; r + R <= rows; r += R) {
    const int64_t ahead = std::min<int64_t>(R, std::max<int64_t>(0, rows - r - kPrefetchDistance * R));
    dot_q4_block_avx512<R, T>(w + r * row_bytes, ws + r * ws_stride, ws_stride, x, xs, offsets, n, y + r, y_stride,
                              ahead > 0 ? w + (r + kPrefetchDistance * R) * row_bytes : nullptr, ahead * row_bytes);
  }
  for (; r < rows; ++r)
    dot_q4_block_avx512<1, T>(w + r * (n / 2), ws + r * ws_stride, ws_stride, x, xs, offsets, n, y + r, y_stride);
}

// AVX2: one block at a time, vpmaddubsw (codes 0..15 times int8, pair sums
// within int16) then vpmaddwd to int32 lanes.
FRUGAL_AVX2 inline __m256 add_block_avx2(__m256 acc, __m256i codes, const int8_t* x, const float* ws, const float* xs,
                                          int64_t block) {
  const __m256i pairs =
      _mm256_maddubs_epi16(codes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + block * kQ4Block)));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1))),
                         _mm256_set1_ps(ws[block] * xs[block]), acc);
}

FRUGAL_AVX2 float dot_q4_avx2(const uint8_t* w, const float* ws, const int8_t* x, const float* xs,
                              const float* offsets, int64_t n) {
  const int64_t blocks = n / kQ4Block;
  const __m256i nibbles = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 4 <= blocks; b += 4) {
    for (int half = 0; half < 2; ++half) {  // bytes 0-31: blocks b, b+2; bytes 32-63: b+1, b+3
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + b * kQ4Block / 2 + 32 * half));
      acc = add_block_avx2(acc, _mm256_and_si256(packed, nibbles), x, ws, xs, b + half);
      acc = add_block_avx2(acc, _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibbles), x, ws, xs, b + 2 + half);
    }
  }
  if (b + 2 <= blocks) {
    const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + b * kQ4Block / 2));
    acc = add_block_avx2(acc, _mm256_and_si256(packed, nibbles), x, ws, xs, b);
    acc = add_block_avx2(acc, _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibbles), x, ws, xs, b + 1);
    b += 2;
  }
  if (b < blocks) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + b * kQ4Block / 2));
    const __m128i low = _mm_set1_epi8(0x0F);
    const __m256i codes = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low), _mm_and_si128(packed, low));
    acc = add_block_avx2(acc, codes, x, ws, xs, b);
  }
  __m256 correction = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= blocks; c += 8)
    correction = _mm256_fmadd_ps(_mm256_loadu_ps(ws + c), _mm256_loadu_ps(offsets + c), correction);
  const __m256 total = _mm256_sub_ps(acc, correction);
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(total), _mm256_extractf128_ps(total, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  float sum = _mm_cvtss_f32(_mm_add_ss(s4, _mm_movehdup_ps(s4)));
  for (; c < blocks; ++c) sum -= ws[c] * offsets[c];
  return sum;
}
#endif

}  // namespace

void quantize_q4_row(const float* x, int64_t n, uint8_t* packed, float* scales) {
  const int64_t blocks = n / kQ4Block;
  std::vector<uint8_t> codes(static_cast<std::size_t>(n));
  quantize_q4_codes(x, n, codes.data(), scales);
  for (int64_t b = 0; b < blocks;) {
    const Group g = group_of(b, blocks);
    const int half = 16 * g.size;
    const uint8_t* group = codes.data() + g.first * kQ4Block;
    uint8_t* out = packed + g.first * kQ4Block / 2;
    for (int i = 0; i < half; ++i) out[i] = static_cast<uint8_t>(group[i] | (group[i + half] << 4));
    b += g.size;
  }
}

int q4_code(const uint8_t* packed, int64_t n, int64_t i) {
  const Group g = group_of(i / kQ4Block, n / kQ4Block);
  const int64_t within = i - g.first * kQ4Block, half = 16 * g.size;
  const uint8_t byte = packed[g.first * kQ4Block / 2 + within % half];
  return within < half ? byte & 0x0F : byte >> 4;
}

void dequantize_q4_row(const uint8_t* packed, const float* scales, int64_t n, float* out) {
  const int64_t blocks = n / kQ4Block;
  uint8_t codes[4 * kQ4Block];
  for (int64_t b = 0; b < blocks;) {
    const Group g = group_of(b, blocks);
    unpack_group(packed + g.first * kQ4Block / 2, g.size, codes);
    for (int k = 0; k < g.size; ++k, ++b)
      for (int i = 0; i < kQ4Block; ++i)
        out[b * kQ4Block + i] = static_cast<float>(codes[k * kQ4Block + i] - 8) * scales[b];
  }
}

void q4_input_offsets(const int8_t* x, const float* x_scales, int64_t n, float* offsets) {
  for (int64_t b = 0; b < n / kQ4Block; ++b) {
    int32_t sum = 0;
    for (int i = 0; i < kQ4Block; ++i) sum += x[b * kQ4Block + i];
    offsets[b] = 8.0f * x_scales[b] * static_cast<float>(sum);
  }
}

float dot_q4_at(SimdLevel level, const uint8_t* w, const float* ws, const int8_t* x, const float* xs,
                const float* offsets, int64_t n) {
#if defined(__x86_64__)
  if (level == SimdLevel::Avx512 && cpu_features().avx512_vnni) {
    float y;
    dot_q4_block_avx512<1, 1>(w, ws, 0, x, xs, offsets, n, &y, 0);
    return y;
  }
  if (level >= SimdLevel::Avx2) return dot_q4_avx2(w, ws, x, xs, offsets, n);
#endif
  (void)level;
  return dot_q4_portable(w, ws, x, xs, offsets, n);
}

float dot_q4(const uint8_t* w, const float* ws, const int8_t* x, const float* xs, const float* offsets, int64_t n) {
  return dot_q4_at(simd_level(), w, ws, x, xs, offsets, n);
}

void dot_q4_rows_inputs_at(SimdLevel level, const uint8_t* w, const float* w_scales, int64_t w_scale_stride,
                           int64_t rows, const int8_t* x, const float* x_scales, const float* x_offsets,
                           int64_t inputs, int64_t n, float* y, int64_t y_stride) {
  const int64_t blocks = n / kQ4Block;
  for (int64_t t0 = 0; t0 < inputs; t0 += 4) {
    const int64_t group = std::min<int64_t>(4, inputs - t0);
    const int8_t* xg = x + t0 * n;
    const float* xsg = x_scales + t0 * blocks;
    const float* og = x_offsets + t0 * blocks;
    float* yg = y + t0 * y_stride;
#if defined(__x86_64__)
    if (level == SimdLevel::Avx512 && cpu_features().avx512_vnni) {
      switch (group) {
        case 1: dot_q4_rows_avx512<4, 1>(w, w_scales, w_scale_stride, rows, xg, xsg, og, n, yg, y_stride); break;
        case 2: dot_q4_rows_avx512<2, 2>(w, w_scales, w_scale_stride, rows, xg, xsg, og, n, yg, y_stride); break;
        case 3: dot_q4_rows_avx512<2, 3>(w, w_scales, w_scale_stride, rows, xg, xsg, og, n, yg, y_stride); break;
        default: dot_q4_rows_avx512<2, 4>(w, w_scales, w_scale_stride, rows, xg, xsg, og, n, yg, y_stride); break;
      }
      continue;
    }
#endif
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t t = 0; t < group; ++t)
        yg[t * y_stride + r] = dot_q4_at(level, w + r * (n / 2), w_scales + r * w_scale_stride, xg + t * n,
                                         xsg + t * blocks, og + t * blocks, n);
  }
}

void dot_q4_rows_inputs(const uint8_t* w, const float* w_scales, int64_t w_scale_stride, int64_t rows,
                        const int8_t* x, const float* x_scales, const float* x_offsets, int64_t inputs, int64_t n,
                        float* y, int64_t y_stride) {
  dot_q4_rows_inputs_at(simd_level(), w, w_scales, w_scale_stride, rows, x, x_scales, x_offsets, inputs, n, y,
                        y_stride);
}

bool q4_applicable(const WeightMatrix& w) {
  return w.cols % kQ4Block == 0 && w.dtype != DType::Q4 && w.dtype != DType::I8;
}

WeightMatrix to_q4(const WeightMatrix& w, bool interleave) {
  if (!q4_applicable(w)) fail(w.name, ": cannot be stored as Q4 (", w.cols, " columns)");
  const int64_t blocks = w.cols / kQ4Block;
  const int rows_per_group = interleave && w.rows % kQ4InterleavedRows == 0 ? kQ4InterleavedRows : 1;
  std::shared_ptr<uint8_t[]> values = allocate_weight_bytes(static_cast<std::size_t>(w.rows * w.cols / 2));
  auto scales = std::make_shared<std::vector<float>>(static_cast<std::size_t>(w.rows * blocks));
  ThreadPool::global().parallel_for(static_cast<std::size_t>(w.rows / rows_per_group), [&](std::size_t begin,
                                                                                            std::size_t end) {
    std::vector<float> row(static_cast<std::size_t>(w.cols));
    std::vector<uint8_t> codes(static_cast<std::size_t>(rows_per_group * w.cols));
    for (std::size_t g = begin; g < end; ++g) {
      const int64_t first = static_cast<int64_t>(g) * rows_per_group;
      uint8_t* out = values.get() + first * (w.cols / 2);
      float* out_scales = scales->data() + first * blocks;
      if (rows_per_group == 1) {
        w.decode_row(first, row.data());
        quantize_q4_row(row.data(), w.cols, out, out_scales);
        continue;
      }
      for (int j = 0; j < rows_per_group; ++j) {
        w.decode_row(first + j, row.data());
        quantize_q4_codes(row.data(), w.cols, codes.data() + j * w.cols, out_scales + j * blocks);
      }
      std::vector<float> row_major_scales(out_scales, out_scales + rows_per_group * blocks);
      interleave_q4_rows(codes.data(), row_major_scales.data(), rows_per_group, w.cols, out, out_scales);
    }
  });
  WeightMatrix q = owned_matrix(w.name, DType::Q4, w.rows, w.cols, std::shared_ptr<const void>(values, values.get()),
                                values.get(), scales, kQ4Block);
  q.interleaved_rows = rows_per_group > 1 ? rows_per_group : 0;
  return q;
}

}  // namespace frugal
