// The q8 latent cache's tiles and the int8 attention over them: rows come
// back within half a code step; the portable kernel matches float attention
// over the dequantised rows within the query and weight quantisation's
// error; every SIMD level matches the portable one; spans merge to the
// whole.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/kernels/latent_attention_q8.h"
#include "frugal/kernels/latent_tiles_q8.h"
#include "support/simd_levels.h"
#include "support/test_support.h"

namespace frugal {
namespace {

struct Case {
  int heads;
  int64_t positions;
  int latent_dim, rope_dim;
};

struct Cache {
  LatentTileLayout layout;
  std::vector<uint8_t> tiles;
  std::vector<float> latents, rope_keys;  // what the tiles hold, dequantised
};

Cache make_cache(const Case& c, uint32_t seed) {
  Cache cache;
  cache.layout = LatentTileLayout(c.latent_dim, c.rope_dim);
  cache.tiles.assign(LatentTileLayout::tiles_for(c.positions) * cache.layout.tile_bytes(), 0);
  // Scales that differ between blocks and positions, as normed latents' do.
  std::vector<float> latent = test::normal_values(static_cast<std::size_t>(c.positions * c.latent_dim), seed);
  const std::vector<float> rope = test::normal_values(static_cast<std::size_t>(c.positions * c.rope_dim), seed + 1, 2.0f);
  for (int64_t t = 0; t < c.positions; ++t)
    for (int i = 0; i < c.latent_dim; ++i) latent[t * c.latent_dim + i] *= 1.0f + 0.5f * ((t + i / 128) % 3);
  cache.latents.resize(latent.size());
  cache.rope_keys.resize(rope.size());
  for (int64_t t = 0; t < c.positions; ++t) {
    uint8_t* tile = cache.tiles.data() + (t / 16) * cache.layout.tile_bytes();
    store_latent_q8(cache.layout, tile, static_cast<int>(t % 16), latent.data() + t * c.latent_dim,
                    rope.data() + t * c.rope_dim);
    load_latent_q8(cache.layout, tile, static_cast<int>(t % 16), cache.latents.data() + t * c.latent_dim,
                   cache.rope_keys.data() + t * c.rope_dim);
  }
  return cache;
}

// Double-precision attention over the dequantised rows.
std::vector<float> reference(const Case& c, const Cache& cache, const std::vector<float>& q_latent,
                             const std::vector<float>& q_rope, float scale) {
  std::vector<float> out(static_cast<std::size_t>(c.heads * c.latent_dim));
  for (int h = 0; h < c.heads; ++h) {
    std::vector<double> score(static_cast<std::size_t>(c.positions));
    for (int64_t t = 0; t < c.positions; ++t) {
      double s = 0;
      for (int i = 0; i < c.latent_dim; ++i) s += double(q_latent[h * c.latent_dim + i]) * cache.latents[t * c.latent_dim + i];
      for (int i = 0; i < c.rope_dim; ++i) s += double(q_rope[h * c.rope_dim + i]) * cache.rope_keys[t * c.rope_dim + i];
      score[t] = s * scale;
    }
    const double m = *std::max_element(score.begin(), score.end());
    double total = 0;
    for (double& s : score) total += s = std::exp(s - m);
    for (int i = 0; i < c.latent_dim; ++i) {
      double o = 0;
      for (int64_t t = 0; t < c.positions; ++t) o += score[t] * cache.latents[t * c.latent_dim + i];
      out[h * c.latent_dim + i] = static_cast<float>(o / total);
    }
  }
  return out;
}

struct AttentionRun {
  Case c;
  Cache cache;
  std::vector<float> q_latent, q_rope;
  LatentAttentionQ8Args args;

  AttentionRun(const Case& cs, uint32_t seed, float query_scale) : c(cs), cache(make_cache(cs, seed)) {
    q_latent = test::normal_values(static_cast<std::size_t>(c.heads * c.latent_dim), seed + 2, query_scale);
    q_rope = test::normal_values(static_cast<std::size_t>(c.heads * c.rope_dim), seed + 3, query_scale);
    args.heads = c.heads;
    args.positions = c.positions;
    args.scale = 1.0f / std::sqrt(static_cast<float>(c.latent_dim + c.rope_dim));
    args.q_latent = q_latent.data();
    args.q_latent_stride = c.latent_dim;
    args.q_rope = q_rope.data();
    args.q_rope_stride = c.rope_dim;
    args.layout = cache.layout;
    args.tiles = cache.tiles.data();
  }

  // The whole attention as `spans` spans (of whole tiles) merged.
  std::vector<float> attend(SimdLevel level, int spans = 1) const {
    const int64_t tiles = LatentTileLayout::tiles_for(c.positions);
    std::vector<float> max(static_cast<std::size_t>(spans * c.heads)), sum(max.size());
    std::vector<float> partial(static_cast<std::size_t>(spans * c.heads * c.latent_dim));
    std::vector<AttentionSpan> parts;
    for (int k = 0; k < spans; ++k) {
      parts.push_back({max.data() + k * c.heads, sum.data() + k * c.heads, partial.data() + k * c.heads * c.latent_dim});
      latent_attention_q8_span_at(level, args, tiles * k / spans * 16, tiles * (k + 1) / spans * 16, parts.back());
    }
    std::vector<float> out(static_cast<std::size_t>(c.heads * c.latent_dim));
    merge_attention_spans(c.heads, c.latent_dim, parts.data(), spans, out.data(), c.latent_dim);
    return out;
  }
};

const Case kCases[] = {
    {4, 1, 32, 8},      // the goldens' shape, one position
    {4, 37, 32, 8},     // a partial tile
    {16, 300, 512, 64},  // V2-Lite's: chunks of 128, the last partial
    {20, 129, 40, 6},   // padded columns, a group of 16 heads and one of 4
    {3, 70, 200, 10},   // blocks of 128 and 72, odd head groups
};

TEST(LatentTilesQ8, RowsComeBackWithinHalfACodeStep) {
  const LatentTileLayout layout(200, 10);
  EXPECT_EQ(layout.latent_padded, 208);
  EXPECT_EQ(layout.rope_padded, 12);
  EXPECT_EQ(layout.latent_blocks, 2);
  EXPECT_EQ(LatentTileLayout(512, 64).bytes_per_position(), 512u + 64 + 4 * 4 + 4);
  std::vector<uint8_t> tile(layout.tile_bytes(), 0);
  const std::vector<float> latent = test::normal_values(200, 7), rope = test::normal_values(10, 8, 3.0f);
  store_latent_q8(layout, tile.data(), 5, latent.data(), rope.data());
  std::vector<float> latent_back(200), rope_back(10);
  load_latent_q8(layout, tile.data(), 5, latent_back.data(), rope_back.data());
  for (int b = 0; b < 2; ++b) {
    const int begin = b * 128, end = std::min(200, begin + 128);
    const float step = test::max_abs(latent.data() + begin, end - begin) / 127.0f;
    for (int i = begin; i < end; ++i) EXPECT_NEAR(latent_back[i], latent[i], 0.5f * step * 1.0001f) << i;
  }
  const float rope_step = test::max_abs(rope.data(), 10) / 127.0f;
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(rope_back[i], rope[i], 0.5f * rope_step * 1.0001f) << i;
  // Other slots stay empty: slot 4 reads back as zeros.
  load_latent_q8(layout, tile.data(), 4, latent_back.data(), nullptr);
  EXPECT_EQ(test::max_abs(latent_back.data(), 200), 0.0f);
}

TEST(LatentTilesQ8, EveryLevelQuantisesBlocksAsPortable) {
  for (const int n : {1, 8, 17, 128}) {
    std::vector<float> values = test::normal_values(static_cast<std::size_t>(n), static_cast<uint32_t>(n), 3.0f);
    values[0] = 0.5f * test::max_abs(values.data(), values.size()) / 127.0f * 3.0f;  // a code exactly half-way
    std::vector<int8_t> expected(static_cast<std::size_t>(n)), actual(expected.size());
    const float scale = quantize_q8_block_at(SimdLevel::Portable, values.data(), n, expected.data());
    for (const SimdLevel level : test::available_simd_levels()) {
      EXPECT_EQ(quantize_q8_block_at(level, values.data(), n, actual.data()), scale) << to_string(level);
      EXPECT_EQ(actual, expected) << to_string(level) << ", " << n << " values";
    }
  }
  std::vector<int8_t> zeros(4, 1);
  const std::vector<float> nothing(4, 0.0f);
  EXPECT_EQ(quantize_q8_block(nothing.data(), 4, zeros.data()), 0.0f);
  EXPECT_EQ(zeros, std::vector<int8_t>(4, 0));
}

TEST(LatentAttentionQ8, PortableMatchesFloatAttentionOverTheSameRows) {
  for (const Case& c : kCases) {
    for (const float query_scale : {1.0f, 4.0f}) {  // flat and peaked attention
      const AttentionRun run(c, 11, query_scale);
      const std::vector<float> expected = reference(c, run.cache, run.q_latent, run.q_rope, run.args.scale);
      const std::vector<float> actual = run.attend(SimdLevel::Portable);
      // Queries to 8 bits move peaked scores by ~0.03-0.05 (query scale 4:
      // scores of standard deviation ~6), their weights by ~3%; weights to 8
      // bits add ~0.2% of a chunk's largest each.
      const float tolerance = 0.03f * test::max_abs(expected.data(), expected.size());
      EXPECT_LE(test::max_abs_diff(actual.data(), expected.data(), expected.size()), tolerance)
          << c.heads << " heads, " << c.positions << " positions, query scale " << query_scale;
    }
  }
}

TEST(LatentAttentionQ8, EveryLevelMatchesPortable) {
  for (const Case& c : kCases) {
    const AttentionRun run(c, 23, 2.0f);
    const std::vector<float> portable = run.attend(SimdLevel::Portable);
    for (const SimdLevel level : test::available_simd_levels()) {
      const std::vector<float> actual = run.attend(level);
      // The same integers; exp and summation order differ in float, which
      // can move a weight's rounding by one code.
      EXPECT_LE(test::max_abs_diff(actual.data(), portable.data(), portable.size()),
                2e-3f * test::max_abs(portable.data(), portable.size()))
          << to_string(level) << ", " << c.heads << " heads, " << c.positions << " positions";
    }
  }
}

TEST(LatentAttentionQ8, SpansMergeToTheWhole) {
  const Case c{16, 300, 512, 64};
  const AttentionRun run(c, 5, 2.0f);
  for (const SimdLevel level : test::available_simd_levels()) {
    const std::vector<float> whole = run.attend(level, 1);
    for (const int spans : {2, 3, 19}) {  // 19 spans of one tile each
      const std::vector<float> merged = run.attend(level, spans);
      // Spans cut chunks differently, and a chunk's weights are quantised
      // against its own largest: 8-bit noise (~0.5% here), not a wrong merge.
      EXPECT_LE(test::max_abs_diff(merged.data(), whole.data(), whole.size()),
                1.5e-2f * test::max_abs(whole.data(), whole.size()))
          << to_string(level) << ", " << spans << " spans";
    }
  }
}

TEST(LatentAttentionQ8, AnEmptySpanContributesNothing) {
  const Case c{4, 20, 32, 8};
  const AttentionRun run(c, 3, 1.0f);
  std::vector<float> max(4), sum(4), out(4 * 32);
  latent_attention_q8_span_at(simd_level(), run.args, 32, 48, {max.data(), sum.data(), out.data()});
  for (int h = 0; h < 4; ++h) {
    EXPECT_EQ(sum[h], 0.0f);
    EXPECT_TRUE(std::isinf(max[h]) && max[h] < 0);
  }
}

}  // namespace
}  // namespace frugal
