#include "frugal/kernels/q8.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

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

void quantize_q8(const float* x, int64_t n, int8_t* q, float* scales) {
  for (int64_t b = 0; b * kQ8Block < n; ++b) {
    float amax = 0.0f;
    for (int i = 0; i < kQ8Block; ++i) amax = std::fmax(amax, std::fabs(x[b * kQ8Block + i]));
    const float scale = amax / 127.0f;
    const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
    scales[b] = scale;
    for (int i = 0; i < kQ8Block; ++i)
      q[b * kQ8Block + i] = static_cast<int8_t>(std::lrintf(x[b * kQ8Block + i] * inverse));
  }
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
  auto values = std::make_shared<std::vector<uint8_t>>(static_cast<std::size_t>(w.rows * w.cols));
  auto scales = std::make_shared<std::vector<float>>(static_cast<std::size_t>(w.rows * blocks));
  ThreadPool::global().parallel_for(static_cast<std::size_t>(w.rows), [&](std::size_t begin, std::size_t end) {
    std::vector<float> row(static_cast<std::size_t>(w.cols));
    for (std::size_t r = begin; r < end; ++r) {
      w.decode_row(static_cast<int64_t>(r), row.data());
      quantize_q8(row.data(), w.cols, reinterpret_cast<int8_t*>(values->data()) + r * w.cols,
                  scales->data() + r * blocks);
    }
  });
  WeightMatrix q;
  q.name = w.name;
  q.dtype = DType::I8;
  q.rows = w.rows;
  q.cols = w.cols;
  q.data = values->data();
  q.storage = values;
  q.scales = scales;
  q.block_rows = 1;
  q.block_cols = kQ8Block;
  q.scale_cols = blocks;
  return q;
}

}  // namespace frugal

#if defined(__x86_64__)
#pragma GCC diagnostic pop
#endif
