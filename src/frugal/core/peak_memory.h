#pragma once
// The process's peak resident memory so far, for the memory figures that
// `frugal generate`, `frugal bench` and the benchmarks print.
#include <cstdint>

namespace frugal {

// Peak resident set size in bytes (getrusage's ru_maxrss).
int64_t peak_rss_bytes();
// Restarts the peak from the current resident size (Linux's
// /proc/self/clear_refs), so that a later peak can leave out a large buffer
// used and freed in between; false where that is not possible.
bool reset_peak_rss();

}  // namespace frugal
