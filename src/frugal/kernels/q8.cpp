#include "frugal/kernels/q8.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"

#include "frugal/kernels/intrinsics.h"

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
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) float dot_q8_avx512(const int8_t* w, const float* ws,
                                                                                     const int8_t* x, const float* xs,
                                                                                     int64_t n) {
  __m512 sum = _mm512_setzero_ps();
  const __m512i zero = _mm512_setzero_si512();
  const __m512i lane_block = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  int64_t b = 0;
  const int64_t blocks = n / kQ8Block;
  for (; b + 2 <= blocks; b += 2) {
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

bool q8_applicable(const WeightMatrix& w) { return w.cols % kQ8Block == 0 && w.dtype != DType::I8; }

WeightMatrix to_q8(const WeightMatrix& w) {
  if (!q8_applicable(w)) fail(w.name, ": cannot be stored as Q8 (", w.cols, " columns)");
  const int64_t blocks = w.cols / kQ8Block;
  // Default-initialised: every byte is written below, no need to zero 100s of MB first.
  std::shared_ptr<uint8_t[]> values(new uint8_t[static_cast<std::size_t>(w.rows * w.cols)]);
  auto scales = std::make_shared<std::vector<float>>(static_cast<std::size_t>(w.rows * blocks));
  ThreadPool::global().parallel_for(static_cast<std::size_t>(w.rows), [&](std::size_t begin, std::size_t end) {
    std::vector<float> row(static_cast<std::size_t>(w.cols));
    for (std::size_t r = begin; r < end; ++r) {
      w.decode_row(static_cast<int64_t>(r), row.data());
      quantize_q8(row.data(), w.cols, reinterpret_cast<int8_t*>(values.get()) + r * w.cols,
                  scales->data() + r * blocks);
    }
  });
  WeightMatrix q;
  q.name = w.name;
  q.dtype = DType::I8;
  q.rows = w.rows;
  q.cols = w.cols;
  q.data = values.get();
  q.storage = std::shared_ptr<const void>(values, values.get());
  q.scales = scales;
  q.block_rows = 1;
  q.block_cols = kQ8Block;
  q.scale_cols = blocks;
  return q;
}

}  // namespace frugal

