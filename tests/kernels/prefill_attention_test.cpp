// Causal prefill attention at every SIMD level against a double-precision
// evaluation of its equations, with queries, keys and values strided inside
// wider rows as the model lays them out, blocks of queries that end part
// way, and outputs that must be overwritten.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/core/error.h"
#include "frugal/kernels/prefill_attention.h"
#include "support/simd_levels.h"

namespace frugal {
namespace {

struct Case {
  int64_t queries, first, key_dim, rope_dim, value_dim;
};

struct Inputs {
  int64_t q_stride, key_stride, value_stride, out_stride;
  std::vector<float> q, keys, rope_keys, values;  // q: [queries][q_stride], nope then rope
};

Inputs random_inputs(const Case& c, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t positions = c.first + c.queries;
  Inputs in;
  in.q_stride = c.key_dim + c.rope_dim + 5;
  in.key_stride = c.key_dim + c.value_dim + 3;  // keys and values share rows, as in the expanded kv
  in.value_stride = in.key_stride;
  in.out_stride = c.value_dim + 2;
  in.q.resize(c.queries * in.q_stride);
  in.keys.resize(positions * in.key_stride);
  in.rope_keys.resize(positions * c.rope_dim);
  for (auto* v : {&in.q, &in.keys, &in.rope_keys})
    for (float& x : *v) x = normal(rng);
  return in;
}

PrefillAttentionArgs arguments(const Case& c, const Inputs& in, float scale, std::vector<float>& out) {
  out.assign(c.queries * in.out_stride, -7.0f);  // the kernel must overwrite, not accumulate
  PrefillAttentionArgs a;
  a.queries = c.queries;
  a.first = c.first;
  a.key_dim = c.key_dim;
  a.rope_dim = c.rope_dim;
  a.value_dim = c.value_dim;
  a.scale = scale;
  a.q_nope = in.q.data();
  a.q_rope = in.q.data() + c.key_dim;
  a.q_stride = in.q_stride;
  a.keys = in.keys.data();
  a.key_stride = in.key_stride;
  a.rope_keys = in.rope_keys.data();
  a.rope_stride = c.rope_dim;
  a.values = in.keys.data() + c.key_dim;
  a.value_stride = in.value_stride;
  a.out = out.data();
  a.out_stride = in.out_stride;
  return a;
}

std::vector<double> reference(const Case& c, const Inputs& in, double scale) {
  std::vector<double> out(c.queries * c.value_dim, 0.0);
  for (int64_t s = 0; s < c.queries; ++s) {
    const int64_t seen = c.first + s + 1;
    std::vector<double> score(seen);
    const float* q = in.q.data() + s * in.q_stride;
    for (int64_t t = 0; t < seen; ++t) {
      double dot = 0.0;
      for (int64_t i = 0; i < c.key_dim; ++i) dot += double{q[i]} * in.keys[t * in.key_stride + i];
      for (int64_t i = 0; i < c.rope_dim; ++i) dot += double{q[c.key_dim + i]} * in.rope_keys[t * c.rope_dim + i];
      score[t] = dot * scale;
    }
    const double top = *std::max_element(score.begin(), score.end());
    double total = 0.0;
    for (double& x : score) total += x = std::exp(x - top);
    for (int64_t t = 0; t < seen; ++t)
      for (int64_t i = 0; i < c.value_dim; ++i)
        out[s * c.value_dim + i] += score[t] / total * in.keys[t * in.value_stride + c.key_dim + i];
  }
  return out;
}

TEST(PrefillAttentionTest, EveryLevelMatchesTheDoublePrecisionEquations) {
  std::mt19937 rng(23);
  const std::vector<Case> cases = {
      {1, 0, 16, 8, 16},       // one query, one position: the output is that value row
      {37, 0, 16, 8, 16},      // a fresh prompt: two full blocks of 16 queries and a partial one
      {20, 45, 24, 8, 20},     // queries after a cached prefix; a partial block of value dims
      {5, 3, 7, 3, 5},         // odd sizes everywhere
      {48, 70, 128, 64, 128},  // DeepSeek-V2's head sizes
  };
  for (const Case& c : cases) {
    const Inputs in = random_inputs(c, rng);
    const float scale = 0.6f / std::sqrt(static_cast<float>(c.key_dim + c.rope_dim));
    const std::vector<double> expected = reference(c, in, scale);
    for (SimdLevel level : test::available_simd_levels()) {
      std::vector<float> out;
      prefill_attention_at(level, arguments(c, in, scale, out));
      for (int64_t s = 0; s < c.queries; ++s) {
        for (int64_t i = 0; i < c.value_dim; ++i) {
          const double want = expected[s * c.value_dim + i];
          ASSERT_NEAR(out[s * in.out_stride + i], want, 2e-5 * (1.0 + std::fabs(want)))
              << c.queries << " queries from " << c.first << ", query " << s << " value " << i << " at "
              << to_string(level);
        }
        for (int64_t i = c.value_dim; i < in.out_stride; ++i)
          ASSERT_EQ(out[s * in.out_stride + i], -7.0f) << "wrote past query " << s << "'s output";
      }
    }
  }
}

TEST(PrefillAttentionTest, RejectsAShapeWithoutValues) {
  PrefillAttentionArgs a;
  a.queries = 1;
  EXPECT_THROW(prefill_attention(a), Error);
}

}  // namespace
}  // namespace frugal
