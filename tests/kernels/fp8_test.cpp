// FP8 E4M3 row decoding: every SIMD level against the exact table, for every
// finite code, with block scales that change every block_cols columns.
#include <gtest/gtest.h>

#include <vector>

#include "frugal/core/dtype.h"
#include "frugal/kernels/fp8.h"
#include "support/simd_levels.h"

namespace frugal {
namespace {

TEST(Fp8Test, EveryLevelDecodesEveryCodeExactly) {
  std::vector<uint8_t> codes;
  for (int code = 0; code < 256; ++code)
    if ((code & 0x7F) != 0x7F) codes.push_back(static_cast<uint8_t>(code));  // NaN codes left out
  for (int block_cols : {16, 128, 8, 5}) {
    for (int64_t cols : {static_cast<int64_t>(codes.size()), int64_t{37}, int64_t{16}}) {
      std::vector<float> scales((cols + block_cols - 1) / block_cols);
      for (std::size_t b = 0; b < scales.size(); ++b) scales[b] = 0.25f + 0.5f * static_cast<float>(b);
      std::vector<float> want(cols);
      for (int64_t c = 0; c < cols; ++c) want[c] = fp8_e4m3_to_f32(codes[c]) * scales[c / block_cols];
      for (SimdLevel level : test::available_simd_levels()) {
        std::vector<float> got(cols + 1, -3.0f);
        decode_fp8_e4m3_row_at(level, codes.data(), cols, scales.data(), block_cols, got.data());
        for (int64_t c = 0; c < cols; ++c)
          ASSERT_EQ(got[c], want[c]) << "code " << int{codes[c]} << ", block " << block_cols << ", "
                                     << to_string(level);
        EXPECT_EQ(got[cols], -3.0f) << "wrote past the row";
      }
    }
  }
}

}  // namespace
}  // namespace frugal
