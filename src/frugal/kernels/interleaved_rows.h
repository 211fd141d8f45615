#pragma once
// What the 16-row interleaved Q8 and Q4 kernels share (q8_interleaved.h,
// q4_interleaved.h): inputs taken in groups of up to 4, read a dword at a
// time, and the prefetch of a one-input product's weight stream.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "frugal/kernels/intrinsics.h"

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
// (kTileGroups x 16 rows, 256 KiB of Q8 at 2048 columns) stay in L2 instead
// of streaming from L3 once per group of 4 inputs.
inline constexpr int64_t kTileGroups = 8;

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

#if defined(__x86_64__)
// With one input the weights stream from memory, one group after the other,
// and the hardware prefetchers fall behind: each block asks for the bytes
// this far ahead (2 KiB measured best of 2, 4 and 8 KiB).
inline constexpr int64_t kPrefetchAhead = 2048;

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
#endif

}  // namespace frugal::interleaved
