#include "frugal/core/memory_bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>

#include "frugal/core/cpu_features.h"
#include "frugal/core/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace frugal {
namespace {

uint64_t sum_portable(const uint64_t* p, std::size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a += p[i];
    b += p[i + 1];
    c += p[i + 2];
    d += p[i + 3];
  }
  for (; i < n; ++i) a += p[i];
  return a + b + c + d;
}

#if defined(__x86_64__)
// Four independent 256-bit accumulators keep enough loads in flight.
__attribute__((target("avx2"))) uint64_t sum_avx2(const uint64_t* p, std::size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a = _mm256_add_epi64(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_add_epi64(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    c = _mm256_add_epi64(c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    d = _mm256_add_epi64(d, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
  uint64_t lanes[4];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + sum_portable(p + i, n - i);
}
#endif

uint64_t sum(const uint64_t* p, std::size_t n) {
#if defined(__x86_64__)
  if (simd_level() >= SimdLevel::Avx2) return sum_avx2(p, n);
#endif
  return sum_portable(p, n);
}

}  // namespace

BandwidthMeasurement measure_read_bandwidth(std::size_t bytes, int passes) {
  const std::size_t words = bytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[words]);
  ThreadPool& pool = ThreadPool::global();
  // Touch every page from the threads that will read it.
  pool.parallel_for(words, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) buffer[i] = i;
  });
  BandwidthMeasurement m;
  m.buffer_bytes = words * sizeof(uint64_t);
  m.passes = passes;
  std::atomic<uint64_t> checksum{0};
  for (int pass = 0; pass < passes; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for(static_cast<std::size_t>(pool.num_threads()), [&](std::size_t first, std::size_t last) {
      for (std::size_t t = first; t < last; ++t) {
        const std::size_t begin = words * t / pool.num_threads(), end = words * (t + 1) / pool.num_threads();
        checksum += sum(buffer.get() + begin, end - begin);
      }
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    m.bytes_per_second = std::max(m.bytes_per_second, static_cast<double>(m.buffer_bytes) / seconds);
  }
  if (checksum.load() == 42) m.passes += 0;  // keeps the sums from being optimised away
  return m;
}

}  // namespace frugal
