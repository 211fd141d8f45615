// The latent attention kernel at every SIMD level against a double-precision
// evaluation of its three equations, over head counts and sizes that leave
// partial head groups, partial vectors and several tiles of positions (the
// online softmax rescales across tiles).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/core/dtype.h"
#include "frugal/core/error.h"
#include "frugal/kernels/latent_attention.h"
#include "support/simd_levels.h"

namespace frugal {
namespace {

struct Case {
  int heads;
  int64_t positions, latent_dim, rope_dim;
};

struct Inputs {
  std::vector<float> q_latent, q_rope, latents, rope_keys;
  int64_t q_rope_stride;
};

Inputs random_inputs(const Case& c, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Inputs in;
  in.q_rope_stride = c.rope_dim + 3;  // rope queries sit inside wider per-head rows
  in.q_latent.resize(c.heads * c.latent_dim);
  in.q_rope.resize(c.heads * in.q_rope_stride);
  in.latents.resize(c.positions * c.latent_dim);
  in.rope_keys.resize(c.positions * c.rope_dim);
  for (auto* v : {&in.q_latent, &in.q_rope, &in.latents, &in.rope_keys})
    for (float& x : *v) x = normal(rng);
  return in;
}

LatentAttentionArgs arguments(const Case& c, const Inputs& in, float scale, std::vector<float>& p,
                              std::vector<float>& out) {
  p.assign(c.heads * c.positions, 0.0f);
  out.assign(c.heads * c.latent_dim, -7.0f);  // the kernel must overwrite, not accumulate
  LatentAttentionArgs a;
  a.heads = c.heads;
  a.positions = c.positions;
  a.latent_dim = c.latent_dim;
  a.rope_dim = c.rope_dim;
  a.scale = scale;
  a.q_latent = in.q_latent.data();
  a.q_rope = in.q_rope.data();
  a.q_rope_stride = in.q_rope_stride;
  a.latents = in.latents.data();
  a.rope_keys = in.rope_keys.data();
  a.scratch = p.data();
  a.out = out.data();
  return a;
}

// out[h] in double precision.
std::vector<double> reference(const Case& c, const Inputs& in, double scale) {
  std::vector<double> out(c.heads * c.latent_dim, 0.0);
  for (int h = 0; h < c.heads; ++h) {
    std::vector<double> score(c.positions);
    for (int64_t t = 0; t < c.positions; ++t) {
      double s = 0;
      for (int64_t i = 0; i < c.latent_dim; ++i)
        s += static_cast<double>(in.q_latent[h * c.latent_dim + i]) * in.latents[t * c.latent_dim + i];
      for (int64_t i = 0; i < c.rope_dim; ++i)
        s += static_cast<double>(in.q_rope[h * in.q_rope_stride + i]) * in.rope_keys[t * c.rope_dim + i];
      score[t] = s * scale;
    }
    const double top = *std::max_element(score.begin(), score.end());
    double sum = 0;
    for (double& s : score) sum += (s = std::exp(s - top));
    for (int64_t t = 0; t < c.positions; ++t)
      for (int64_t i = 0; i < c.latent_dim; ++i)
        out[h * c.latent_dim + i] += score[t] / sum * in.latents[t * c.latent_dim + i];
  }
  return out;
}

TEST(LatentAttentionTest, EveryLevelMatchesTheDoublePrecisionEquations) {
  std::mt19937 rng(17);
  const std::vector<Case> cases = {
      {4, 1, 32, 16},     // one position: the output is that row
      {4, 97, 32, 16},    // the bundled model's shapes
      {5, 300, 40, 8},    // a partial head group, partial vectors, two tiles of positions
      {1, 33, 17, 3},     // odd sizes everywhere
      {16, 520, 512, 64}  // DeepSeek's latent sizes, three tiles
  };
  const std::vector<SimdLevel> levels = test::available_simd_levels();
  for (const Case& c : cases) {
    const Inputs in = random_inputs(c, rng);
    const float scale = 0.5f / std::sqrt(static_cast<float>(c.latent_dim + c.rope_dim));
    const std::vector<double> expected = reference(c, in, scale);
    for (SimdLevel level : levels) {
      std::vector<float> p, out;
      latent_attention_at(level, arguments(c, in, scale, p, out));
      for (std::size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], expected[i], 2e-5 * (1.0 + std::fabs(expected[i])))
            << "heads " << c.heads << " positions " << c.positions << " value " << i << " at " << to_string(level);
    }
  }
}

TEST(LatentAttentionTest, Bf16RowsAttendAsTheirWidenedValues) {
  // A BF16 latent cache: the kernel widens each value exactly, so the result
  // is the float32 computation over the rounded rows.
  std::mt19937 rng(23);
  for (const Case& c : {Case{4, 97, 32, 16}, Case{5, 300, 40, 8}, Case{16, 270, 512, 64}}) {
    Inputs rounded = random_inputs(c, rng);
    std::vector<uint16_t> latent_bits, key_bits;
    for (float& v : rounded.latents) latent_bits.push_back(f32_to_bf16(v)), v = bf16_to_f32(latent_bits.back());
    for (float& v : rounded.rope_keys) key_bits.push_back(f32_to_bf16(v)), v = bf16_to_f32(key_bits.back());
    const float scale = 0.5f / std::sqrt(static_cast<float>(c.latent_dim + c.rope_dim));
    const std::vector<double> expected = reference(c, rounded, scale);
    for (SimdLevel level : test::available_simd_levels()) {
      std::vector<float> p, out;
      LatentAttentionArgs args = arguments(c, rounded, scale, p, out);
      args.rows_dtype = DType::BF16;
      args.latents = latent_bits.data();
      args.rope_keys = key_bits.data();
      latent_attention_at(level, args);
      for (std::size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], expected[i], 2e-5 * (1.0 + std::fabs(expected[i])))
            << "heads " << c.heads << " value " << i << " at " << to_string(level);
    }
  }
  std::vector<float> p, out;
  LatentAttentionArgs args;
  args.heads = 1;
  args.positions = 1;
  args.rows_dtype = DType::U8;
  args.out = out.data();
  EXPECT_THROW(latent_attention(args), Error) << "rows of another dtype";
  args.rows_dtype = DType::I8;
  EXPECT_THROW(latent_attention(args), Error) << "int8 rows: the q8 cache has its own kernel";
}

TEST(LatentAttentionTest, StridedKeysWithSeparateValues) {
  // The naive MLA form: one head's expanded keys and values, strided inside
  // a [positions, H, dn + dv] buffer, beside shared rope keys.
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t H = 3, dn = 24, dv = 40, dr = 8, T = 290, stride = H * (dn + dv), h = 1;
  std::vector<float> kv(T * stride), rope(T * dr), q(dn + dr);
  for (auto* v : {&kv, &rope, &q})
    for (float& x : *v) x = normal(rng);
  const float scale = 0.3f;
  std::vector<double> expected(dv, 0.0), score(T);
  for (int64_t t = 0; t < T; ++t) {
    double s = 0;
    for (int64_t i = 0; i < dn; ++i) s += static_cast<double>(q[i]) * kv[t * stride + h * (dn + dv) + i];
    for (int64_t i = 0; i < dr; ++i) s += static_cast<double>(q[dn + i]) * rope[t * dr + i];
    score[t] = s * scale;
  }
  const double top = *std::max_element(score.begin(), score.end());
  double sum = 0;
  for (double& s : score) sum += (s = std::exp(s - top));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < dv; ++i) expected[i] += score[t] / sum * kv[t * stride + h * (dn + dv) + dn + i];
  for (SimdLevel level : test::available_simd_levels()) {
    std::vector<float> scratch(T), out(dv + 1, -7.0f);
    LatentAttentionArgs a;
    a.heads = 1;
    a.positions = T;
    a.latent_dim = dn;
    a.rope_dim = dr;
    a.scale = scale;
    a.q_latent = q.data();
    a.q_rope = q.data() + dn;
    a.latents = kv.data() + h * (dn + dv);
    a.latent_row_stride = stride;
    a.rope_keys = rope.data();
    a.values = kv.data() + h * (dn + dv) + dn;
    a.value_dim = dv;
    a.value_row_stride = stride;
    a.scratch = scratch.data();
    a.out = out.data();
    latent_attention_at(level, a);
    for (int64_t i = 0; i < dv; ++i) ASSERT_NEAR(out[i], expected[i], 2e-5 * (1.0 + std::fabs(expected[i]))) << i << " at " << to_string(level);
    EXPECT_EQ(out[dv], -7.0f) << "wrote past the value width at " << to_string(level);
  }
}

TEST(LatentAttentionTest, ExtremeScoresGiveFiniteOutputs) {
  // Scores hundreds apart: exp must neither overflow nor turn the softmax into NaN.
  const Case c{2, 600, 16, 16};  // three tiles: the running maximum jumps between them
  std::mt19937 rng(3);
  Inputs in = random_inputs(c, rng);
  for (float& v : in.q_latent) v *= 40.0f;
  const std::vector<double> expected = reference(c, in, 1.0);
  for (SimdLevel level : test::available_simd_levels()) {
    std::vector<float> p, out;
    latent_attention_at(level, arguments(c, in, 1.0f, p, out));
    for (float v : out) ASSERT_TRUE(std::isfinite(v)) << to_string(level);
    for (std::size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], expected[i], 1e-4 * (1.0 + std::fabs(expected[i]))) << to_string(level);
  }
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

TEST(LatentAttentionTest, VisiblePositionsPerHeadMatchShorterCalls) {
  // Causal prefill: "heads" that are consecutive tokens of one head, each
  // seeing the positions up to its own, across tile boundaries.
  std::mt19937 rng(31);
  const Case c{7, 600, 40, 8};
  const Inputs in = random_inputs(c, rng);
  const float scale = 0.3f;
  const std::vector<int64_t> visible = {1, 255, 256, 257, 300, 513, 600};
  for (SimdLevel level : test::available_simd_levels()) {
    std::vector<float> p, out;
    LatentAttentionArgs args = arguments(c, in, scale, p, out);
    args.visible = visible.data();
    latent_attention_at(level, args);
    for (int h = 0; h < c.heads; ++h) {
      const Case one{1, visible[h], c.latent_dim, c.rope_dim};
      Inputs head = in;
      head.q_latent.assign(in.q_latent.begin() + h * c.latent_dim, in.q_latent.begin() + (h + 1) * c.latent_dim);
      head.q_rope.assign(in.q_rope.begin() + h * in.q_rope_stride, in.q_rope.begin() + (h + 1) * in.q_rope_stride);
      const std::vector<double> expected = reference(one, head, scale);
      for (int64_t i = 0; i < c.latent_dim; ++i)
        ASSERT_NEAR(out[h * c.latent_dim + i], expected[i], 2e-5 * (1.0 + std::fabs(expected[i])))
            << "head " << h << " sees " << visible[h] << ", value " << i << " at " << to_string(level);
    }
  }
  std::vector<float> p, out;
  LatentAttentionArgs args = arguments(c, in, scale, p, out);
  const std::vector<int64_t> beyond = {1, 2, 3, 4, 5, 6, 601};
  args.visible = beyond.data();
  EXPECT_THROW(latent_attention(args), Error) << "a head seeing more positions than there are";
}

}  // namespace
}  // namespace frugal
