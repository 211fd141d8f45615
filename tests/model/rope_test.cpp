// YaRN frequencies and the attention factor against the numbers the spec and
// the MANIFESTs state.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/model/rope.h"

namespace frugal {
namespace {

Config yarn_config(int rope_dim, double factor, int original, double mscale, double mscale_all_dim) {
  Config c;
  c.qk_rope_head_dim = rope_dim;
  c.qk_nope_head_dim = 128;
  c.rope_theta = 10000.0;
  c.rope_scaling.type = RopeScalingType::Yarn;
  c.rope_scaling.factor = factor;
  c.rope_scaling.original_max_position_embeddings = original;
  c.rope_scaling.mscale = mscale;
  c.rope_scaling.mscale_all_dim = mscale_all_dim;
  return c;
}

TEST(RopeTest, GoldenYarnFrequencies) {
  const RotaryEmbedding rope(yarn_config(8, 4.0, 64, 1.0, 1.0));
  const std::vector<double> want = {1.0, 0.0625, 0.0025, 0.00025};
  ASSERT_EQ(rope.inv_freq().size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(rope.inv_freq()[i], want[i], 1e-15);
}

TEST(RopeTest, V3RampSpansPairsTenToTwentyThree) {
  const RotaryEmbedding rope(yarn_config(64, 40.0, 4096, 1.0, 1.0));
  for (int i = 0; i < 32; ++i) {
    const double plain = std::pow(10000.0, -2.0 * i / 64);
    if (i <= 10) {
      EXPECT_DOUBLE_EQ(rope.inv_freq()[i], plain) << i;  // ramp 0
    } else if (i >= 23) {
      EXPECT_NEAR(rope.inv_freq()[i], plain / 40.0, 1e-18) << i;  // ramp 1
    } else {
      EXPECT_LT(rope.inv_freq()[i], plain) << i;
      EXPECT_GT(rope.inv_freq()[i], plain / 40.0) << i;
    }
  }
}

TEST(RopeTest, AnglesAreComputedInDoubleAtLargePositions) {
  const RotaryEmbedding rope(yarn_config(64, 40.0, 4096, 1.0, 1.0));
  std::vector<float> cos, sin;
  rope.angles(100000, 1, cos, sin);
  for (int i = 0; i < 32; ++i) {
    const double angle = 100000.0 * rope.inv_freq()[i];
    EXPECT_NEAR(cos[i], std::cos(angle), 1e-7) << i;
    EXPECT_NEAR(sin[i], std::sin(angle), 1e-7) << i;
  }
}

TEST(RopeTest, SoftmaxScaleUsesMscaleSquared) {
  Config v3 = yarn_config(64, 40.0, 4096, 1.0, 1.0);
  const double m = 0.1 * std::log(40.0) + 1.0;
  EXPECT_NEAR(v3.softmax_scale(), std::pow(192.0, -0.5) * m * m, 1e-15);
  EXPECT_NEAR(v3.softmax_scale(), 0.13523, 1e-5);
  Config lite = yarn_config(64, 40.0, 4096, 0.707, 0.707);
  EXPECT_NEAR(lite.softmax_scale(), 0.11472, 1e-5);
}

TEST(RopeTest, UnequalMscalesScaleCosAndSin) {
  const RotaryEmbedding rope(yarn_config(8, 4.0, 64, 1.0, 0.5));
  std::vector<float> cos, sin;
  rope.angles(0, 1, cos, sin);
  const double factor = (0.1 * std::log(4.0) + 1.0) / (0.05 * std::log(4.0) + 1.0);
  EXPECT_NEAR(cos[0], factor, 1e-6);
  EXPECT_NEAR(sin[0], 0.0, 1e-7);
}

}  // namespace
}  // namespace frugal
