#pragma once
// The random numbers behind generated problems: SplitMix64, with its own
// uniform draw, so the same (task, seed, index) gives the same problem on
// every platform (std::uniform_int_distribution is implementation-defined).
#include <cstdint>
#include <string_view>

namespace frugal::rl {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class ProblemRng {
 public:
  // Independent streams for every (salt, seed, index): the salt keeps tasks
  // and purposes (difficulty, problem) apart under the same seed.
  ProblemRng(std::string_view salt, uint64_t seed, uint64_t index) {
    uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a of the salt
    for (char c : salt) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
    state_ = h;
    state_ = splitmix64(state_) ^ seed;
    state_ = splitmix64(state_) ^ index;
    splitmix64(state_);
  }

  uint64_t next() { return splitmix64(state_); }

  // Uniform in [lo, hi] (lo <= hi), without modulo bias.
  int64_t uniform(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (span == 0) return static_cast<int64_t>(next());  // the full 64-bit range
    const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return lo + static_cast<int64_t>(x % span);
  }

 private:
  uint64_t state_;
};

}  // namespace frugal::rl
