#pragma once
// Compares engine outputs with golden tensors under the MANIFEST rules:
// absolute tolerances for logits and routing weights, tolerances relative to
// the tensor's max abs for hidden states, exact per-row expert sets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "frugal/io/safetensors.h"
#include "support/test_support.h"

namespace frugal::test {

inline std::vector<int32_t> ints_of(const TensorView& view) {
  std::vector<int32_t> out(static_cast<std::size_t>(view.numel()));
  std::memcpy(out.data(), view.data, out.size() * sizeof(int32_t));
  return out;
}

inline void expect_close_abs(const TensorView& golden, const std::vector<float>& actual, float tol) {
  const std::vector<float> want = golden.to_f32();
  ASSERT_EQ(want.size(), actual.size()) << golden.name;
  EXPECT_LE(max_abs_diff(want.data(), actual.data(), want.size()), tol) << golden.name;
}

inline void expect_close_rel(const TensorView& golden, const std::vector<float>& actual, float tol) {
  const std::vector<float> want = golden.to_f32();
  ASSERT_EQ(want.size(), actual.size()) << golden.name;
  const float scale = max_abs(want.data(), want.size());
  EXPECT_LE(max_abs_diff(want.data(), actual.data(), want.size()) / scale, tol) << golden.name;
}

// Same expert set per row; weights compared expert by expert.
inline void expect_same_routing(const TensorView& golden_ids, const TensorView& golden_weights,
                                const std::vector<int32_t>& ids, const std::vector<float>& weights,
                                float weight_tol) {
  const std::vector<int32_t> want_ids = ints_of(golden_ids);
  const std::vector<float> want_weights = golden_weights.to_f32();
  ASSERT_EQ(want_ids.size(), ids.size()) << golden_ids.name;
  ASSERT_EQ(want_weights.size(), weights.size()) << golden_weights.name;
  const auto k = static_cast<std::size_t>(golden_ids.dim(1));
  int mismatched_rows = 0;
  float worst = 0.0f;
  for (std::size_t row = 0; row < want_ids.size() / k; ++row) {
    std::map<int32_t, float> want, got;
    for (std::size_t j = 0; j < k; ++j) {
      want[want_ids[row * k + j]] = want_weights[row * k + j];
      got[ids[row * k + j]] = weights[row * k + j];
    }
    if (want.size() != got.size() ||
        !std::equal(want.begin(), want.end(), got.begin(),
                    [](const auto& a, const auto& b) { return a.first == b.first; })) {
      ++mismatched_rows;
      continue;
    }
    for (const auto& [id, w] : want) worst = std::max(worst, std::fabs(w - got[id]));
  }
  EXPECT_EQ(mismatched_rows, 0) << golden_ids.name << ": rows with a different expert set";
  EXPECT_LE(worst, weight_tol) << golden_weights.name;
}

}  // namespace frugal::test
