// The absorbed attention's per-head matrices cut from kv_b_proj: the W_uk
// and W_uv views, and W_uk^T quantised to Q8 from the stored rows, whose
// every element is the transpose's within Q8 rounding (half a step of its
// block of 32), and which is left out where the shapes do not allow Q8.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "frugal/kernels/q8.h"
#include "frugal/model/mla.h"
#include "support/test_support.h"

namespace frugal {
namespace {

Config mla_config(int64_t nope, int64_t rank) {
  Config c;
  c.num_attention_heads = 3;
  c.qk_nope_head_dim = static_cast<int>(nope);
  c.qk_rope_head_dim = 16;
  c.v_head_dim = 16;
  c.kv_lora_rank = static_cast<int>(rank);
  return c;
}

WeightMatrix random_kv_b_proj(const Config& c) {
  const int64_t rows = c.num_attention_heads * (c.qk_nope_head_dim + c.v_head_dim);
  return make_f32_weight("kv_b_proj", rows, c.kv_lora_rank,
                         test::normal_values(static_cast<std::size_t>(rows * c.kv_lora_rank), 7, 0.2f));
}

TEST(AbsorbedWeightsTest, Q8TransposeOfWukHoldsEachHeadsValues) {
  const Config c = mla_config(64, 48);
  const WeightMatrix kv_b = random_kv_b_proj(c);
  const std::vector<WeightMatrix> uk_t = transposed_w_uk_q8(c, kv_b);
  ASSERT_EQ(uk_t.size(), 3u);
  const int64_t nope = c.qk_nope_head_dim, rank = c.kv_lora_rank, per_head = nope + c.v_head_dim;
  for (int64_t h = 0; h < 3; ++h) {
    const WeightMatrix& m = uk_t[h];
    EXPECT_EQ(m.dtype, DType::I8);
    EXPECT_EQ(m.interleaved_rows, 16);
    ASSERT_EQ(m.rows, rank);
    ASSERT_EQ(m.cols, nope);
    for (int64_t row = 0; row < rank; ++row) {
      for (int64_t block = 0; block < nope / kQ8Block; ++block) {
        float largest = 0.0f;
        for (int64_t i = block * kQ8Block; i < (block + 1) * kQ8Block; ++i)
          largest = std::max(largest, std::fabs(kv_b.element(h * per_head + i, row)));
        const float half_step = largest / 127.0f / 2.0f;
        for (int64_t i = block * kQ8Block; i < (block + 1) * kQ8Block; ++i)
          ASSERT_NEAR(m.element(row, i), kv_b.element(h * per_head + i, row), half_step * 1.001f + 1e-7f)
              << "head " << h << ", row " << row << ", column " << i;
      }
    }
  }
}

TEST(AbsorbedWeightsTest, Q8TransposeNeedsWholeBlocksAndRowGroups) {
  EXPECT_TRUE(transposed_w_uk_q8(mla_config(16, 48), random_kv_b_proj(mla_config(16, 48))).empty());  // nope < 32
  EXPECT_TRUE(transposed_w_uk_q8(mla_config(64, 40), random_kv_b_proj(mla_config(64, 40))).empty());  // rank % 16
}

TEST(AbsorbedWeightsTest, DerivedViewsAndAGivenTransposeAreKept) {
  const Config c = mla_config(64, 48);
  MlaWeights w;
  w.kv_b_proj = random_kv_b_proj(c);
  derive_absorbed_weights(c, w, transposed_w_uk_q8(c, w.kv_b_proj));
  ASSERT_EQ(w.w_uk.size(), 3u);
  ASSERT_EQ(w.w_uv.size(), 3u);
  ASSERT_EQ(w.w_uk_transposed.size(), 3u);
  EXPECT_EQ(w.w_uk_transposed[1].dtype, DType::I8);
  // Head 1's W_uv starts after head 0's nope and value rows and head 1's nope rows.
  EXPECT_EQ(w.w_uv[1].element(0, 5), w.kv_b_proj.element(80 + 64, 5));
  EXPECT_EQ(w.w_uk[2].element(3, 7), w.kv_b_proj.element(160 + 3, 7));
  // Without one, float32 kv_b_proj gets its float transpose.
  derive_absorbed_weights(c, w);
  EXPECT_EQ(w.w_uk_transposed[2].dtype, DType::F32);
  EXPECT_EQ(w.w_uk_transposed[2].element(7, 3), w.kv_b_proj.element(160 + 3, 7));
}

}  // namespace
}  // namespace frugal
