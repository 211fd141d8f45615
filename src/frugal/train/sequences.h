#pragma once
// A batch of sequences packed row after row: sequence s owns rows
// offsets[s] .. offsets[s + 1] - 1, and its positions start at 0.
#include <cstdint>
#include <vector>

namespace frugal {

struct SequenceSpans {
  std::vector<int64_t> offsets{0};

  static SequenceSpans from_lengths(const std::vector<int64_t>& lengths) {
    SequenceSpans spans;
    for (int64_t n : lengths) spans.offsets.push_back(spans.offsets.back() + n);
    return spans;
  }
  int64_t count() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t begin(int64_t s) const { return offsets[s]; }
  int64_t length(int64_t s) const { return offsets[s + 1] - offsets[s]; }
  int64_t rows() const { return offsets.back(); }
  int64_t longest() const {
    int64_t n = 0;
    for (int64_t s = 0; s < count(); ++s) n = length(s) > n ? length(s) : n;
    return n;
  }
};

}  // namespace frugal
