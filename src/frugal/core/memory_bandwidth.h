#pragma once
// Measures how fast this machine streams memory into the cores right now, so
// decode speed can be compared with its floor (bytes read per token over
// bandwidth) in the same run: on shared machines bandwidth changes by 2x
// between runs minutes apart.
#include <cstddef>

namespace frugal {

struct BandwidthMeasurement {
  double bytes_per_second = 0.0;  // best of the passes
  std::size_t buffer_bytes = 0;
  int passes = 0;
};

// Reads a buffer of `bytes` (allocated and touched first) `passes` times with
// every thread of the global pool, each thread its own contiguous part.
BandwidthMeasurement measure_read_bandwidth(std::size_t bytes = std::size_t{1} << 30, int passes = 5);

}  // namespace frugal
