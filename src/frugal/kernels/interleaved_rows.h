#pragma once
// What the 16-row interleaved Q8 and Q4 kernels share (q8_interleaved.h,
// q4_interleaved.h): inputs taken in groups of up to 4, read a dword at a
// time, and the prefetch of a one-input product's weight stream.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "frugal/core/cpu_features.h"
#include "frugal/kernels/intrinsics.h"
#include "frugal/kernels/simd_math.h"

namespace frugal::interleaved {

inline constexpr int kGroupRows = 16;

// The input's dword k of a block, as vpbroadcastd from memory wants it.
inline int32_t input_dword(const int8_t* block, int k) {
  int32_t d;
  std::memcpy(&d, block + 4 * k, sizeof d);
  return d;
}

// Inputs [t0, t0 + count) of a product: their codes, scales and block sums,
// and where their outputs go.
struct InputGroup {
  const int8_t* x;
  const float* scales;
  const int32_t* sums;
  float* y;
  int64_t count;
};

// With more than 4 inputs the products go a tile of row groups at a time,
// every input group through one tile before the next: the tile's weights
// (kTileGroups x 16 rows, 128 KiB of Q8 at 2048 columns) stay in L2 instead
// of streaming from L3 once per group of 4 inputs. Twice that, with the next
// tile fetched meanwhile, made Q8 products of 48 inputs 15% slower from
// memory and 6% from L3, and of 512 inputs 9% (L2: 1 MiB a core).
inline constexpr int64_t kTileGroups = 4;

// Calls run(group) for the inputs in groups of up to 4 (the kernels keep a
// group's accumulators in registers).
template <typename Run>
void for_input_groups(const int8_t* x, const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n,
                      int64_t blocks, float* y, int64_t y_stride, Run&& run) {
  for (int64_t t0 = 0; t0 < inputs; t0 += 4)
    run(InputGroup{x + t0 * n, x_scales + t0 * blocks, x_sums + t0 * blocks, y + t0 * y_stride,
                   std::min<int64_t>(4, inputs - t0)});
}

// Calls kernel.template operator()<T>() with T = count (1 to 4).
template <typename Kernel>
void with_input_count(int64_t count, Kernel&& kernel) {
  switch (count) {
    case 1: kernel.template operator()<1>(); break;
    case 2: kernel.template operator()<2>(); break;
    case 3: kernel.template operator()<3>(); break;
    default: kernel.template operator()<4>(); break;
  }
}

// What a kernel call asks the memory for while it computes, per block of its
// weights:
// - one input (weights used once, from memory): the bytes kPrefetchAhead past
//   each block, none at or past `stream_end` (prefetch_ahead; Q4 only, Q8
//   streams faster without it);
// - more inputs (a tile's weights, reused from L2 by every group of 4
//   inputs): `tile_lines` lines of the next tile from `next_tile` on, into
//   L2. The next tile then does not start from memory: a tile's first group
//   of inputs waited on it, and an expert's products in prefill ran ~30%
//   slower with their weights cold than warm (BM_Q8InterleavedProduct/48/32).
struct Prefetch {
  const uint8_t* stream_end = nullptr;
  const uint8_t* next_tile = nullptr;
  int64_t tile_lines = 0;
};

#if defined(__x86_64__)
// With one input the weights stream from memory, one group after the other,
// and the hardware prefetchers fall behind: each block asks for the bytes
// this far ahead. On 4 KiB pages 2 KiB measured best of 2, 4 and 8 KiB; on
// the 2 MiB pages that converted weights now live on (core/weight_arena.h),
// 8 KiB: one thread from memory, Q4 ~24 -> ~27 GB/s, Q8 unchanged.
inline constexpr int64_t kPrefetchAhead = 8192;

// Asks for the `block_bytes` kPrefetchAhead past `block` (none at or past
// `end`), and for the line of 16 scales as many blocks past `block_scales`
// (a hint: an address past the end is dropped).
inline void prefetch_ahead(const uint8_t* block, int64_t block_bytes, const uint8_t* end, const float* block_scales) {
  const auto ahead = reinterpret_cast<std::uintptr_t>(block) + kPrefetchAhead;
  for (int64_t q = 0; q < block_bytes && ahead + q < reinterpret_cast<std::uintptr_t>(end); q += 64)
    _mm_prefetch(reinterpret_cast<const char*>(ahead + q), _MM_HINT_T0);
  const int64_t blocks_ahead = kPrefetchAhead / block_bytes;
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(block_scales) +
                                             blocks_ahead * kGroupRows * sizeof(float)),
               _MM_HINT_T0);
}

inline void prefetch_next_tile(const Prefetch& prefetch, int64_t block) {
  for (int64_t line = 0; line < prefetch.tile_lines; ++line)
    _mm_prefetch(reinterpret_cast<const char*>(prefetch.next_tile + 64 * (block * prefetch.tile_lines + line)),
                 _MM_HINT_T1);
}
#endif

inline constexpr int64_t kBlock = 32;  // columns per scale block, both layouts

#if defined(__x86_64__)
// How both AVX2 kernels end a block and a group, for T inputs: each input's
// exact integer sums for rows 0-7 and 8-15 times the rows' scales and its
// own, added to its accumulators; then the 16 outputs of each input stored.
template <int T>
FRUGAL_AVX2 inline void add_block_avx2(const __m256i (&dot)[T][2], const float* row_scales, const float* x_scales,
                                       int64_t x_scale_stride, __m256 (&acc)[T][2]) {
  for (int h = 0; h < 2; ++h) {
    const __m256 w_scale = _mm256_loadu_ps(row_scales + 8 * h);
    for (int t = 0; t < T; ++t)
      acc[t][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[t][h]),
                                  _mm256_mul_ps(w_scale, _mm256_set1_ps(x_scales[t * x_scale_stride])), acc[t][h]);
  }
}

template <int T>
FRUGAL_AVX2 inline void store_outputs_avx2(const __m256 (&acc)[T][2], float* y, int64_t y_stride) {
  for (int t = 0; t < T; ++t) {
    _mm256_storeu_ps(y + t * y_stride, acc[t][0]);
    _mm256_storeu_ps(y + t * y_stride + 8, acc[t][1]);
  }
}
#endif

// One tile of `groups` groups (all of them with up to 4 inputs). With
// `next_tile` (the kTileGroups groups after this tile: the next tile, or the
// next piece of rows the thread takes), the kernel calls share out its
// lines.
template <typename K>
void dot_tile_at(SimdLevel level, const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                 const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n, float* y, int64_t y_stride,
                 const uint8_t* next_tile) {
  const int64_t blocks = n / kBlock, group_bytes = K::kGroupBlockBytes * blocks, group_scales = kGroupRows * blocks;
  int64_t tile_lines = 0, call = 0;
  if (next_tile != nullptr) {
    const int64_t calls = (inputs + 3) / 4 * (groups / 2 + groups % 2);
    tile_lines = (kTileGroups * group_bytes / 64 + calls * blocks - 1) / (calls * blocks);
  }
  const auto next_prefetch = [&]() -> Prefetch {
    if (tile_lines == 0 || call * tile_lines * blocks * 64 >= kTileGroups * group_bytes) return {};
    return {nullptr, next_tile + 64 * tile_lines * blocks * call++, tile_lines};
  };
  for_input_groups(x, x_scales, x_sums, inputs, n, blocks, y, y_stride, [&](const InputGroup& in) {
#if defined(__x86_64__)
    if (level == SimdLevel::Avx512 && cpu_features().avx512_vnni) {
      with_input_count(in.count, [&]<int T>() {
        constexpr int R = T == 1 ? 1 : 2;  // groups per step: each loaded dword serves T inputs
        // One input: the weights stream from memory.
        const Prefetch stream{T == 1 ? packed + groups * group_bytes : nullptr};
        int64_t g = 0;
        for (; g + R <= groups; g += R)
          K::template avx512<R, T>(packed + g * group_bytes, packed_scales + g * group_scales, in.x, in.scales,
                                   in.sums, n, in.y + g * kGroupRows, y_stride,
                                   T == 1 ? stream : next_prefetch());
        for (; g < groups; ++g)
          K::template avx512<1, T>(packed + g * group_bytes, packed_scales + g * group_scales, in.x, in.scales,
                                   in.sums, n, in.y + g * kGroupRows, y_stride, next_prefetch());
      });
      return;
    }
    if (level >= SimdLevel::Avx2) {
      with_input_count(in.count, [&]<int T>() {
        for (int64_t g = 0; g < groups; ++g)
          K::template avx2_inputs<T>(packed + g * group_bytes, packed_scales + g * group_scales, in.x, in.scales,
                                     in.sums, n, in.y + g * kGroupRows, y_stride);
      });
      return;
    }
#endif
    (void)level;
    (void)next_prefetch;
    K::portable(packed, packed_scales, groups, in.x, in.scales, in.sums, in.count, n, in.y, y_stride);
  });
}

// The product both layouts run: y[t * y_stride + r] for `groups` groups of
// 16 rows and `inputs` inputs. Kernels K (one layout's, in its .cpp):
//   K::kGroupBlockBytes       bytes of one group's block of 32 columns
//   K::avx512<R, T>(...)      R groups by T inputs, asking for what a
//                             Prefetch says
//   K::avx2_inputs<T>(...)    one group and T inputs (1 to 4)
//   K::portable(...)          the reference, any groups and inputs
// More than 4 inputs go a tile of kTileGroups groups at a time, each asking
// for the tile after it (past the last group too: a thread's next piece of
// rows usually starts there).
template <typename K>
void dot_groups_at(SimdLevel level, const uint8_t* packed, const float* packed_scales, int64_t groups, const int8_t* x,
                   const float* x_scales, const int32_t* x_sums, int64_t inputs, int64_t n, float* y,
                   int64_t y_stride) {
  const int64_t blocks = n / kBlock, group_bytes = K::kGroupBlockBytes * blocks, group_scales = kGroupRows * blocks;
  if (inputs <= 4) {
    dot_tile_at<K>(level, packed, packed_scales, groups, x, x_scales, x_sums, inputs, n, y, y_stride, nullptr);
    return;
  }
  for (int64_t g0 = 0; g0 < groups; g0 += kTileGroups) {
    const int64_t tile = std::min(kTileGroups, groups - g0);
    dot_tile_at<K>(level, packed + g0 * group_bytes, packed_scales + g0 * group_scales, tile, x, x_scales, x_sums,
                   inputs, n, y + g0 * kGroupRows, y_stride, packed + (g0 + tile) * group_bytes);
  }
}

}  // namespace frugal::interleaved
