#pragma once
// The process's peak resident memory so far, for the memory figures that
// `frugal generate`, `frugal bench` and the benchmarks print.
#include <cstdint>

namespace frugal {

// Peak resident set size in bytes (getrusage's ru_maxrss).
int64_t peak_rss_bytes();

}  // namespace frugal
