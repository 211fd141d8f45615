// Decode batches: several sequences advancing together through one forward
// call must give each sequence exactly what it gets alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "frugal/generate/batch_generation.h"
#include "frugal/generate/session.h"
#include "frugal/io/safetensors.h"
#include "support/golden.h"
#include "support/golden_compare.h"

namespace frugal {
namespace {

TEST(DecodeBatch, TwoSequencesInLockstepMatchTheGoldenLogits) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  const SafetensorsFile golden(test::golden_dir("v3-tiny") + "/golden.safetensors");
  const auto sequences = test::golden_sequences("v3-tiny");
  const int64_t V = model.config().vocab_size;
  std::vector<KvCache> caches;
  for (const auto& seq : sequences) caches.push_back(model.new_cache(static_cast<int64_t>(seq.size())));
  std::vector<std::vector<float>> logits(sequences.size());
  // A short prefill each (different lengths), then one token per step for every sequence that has one left.
  const std::vector<int64_t> prefill = {3, 7};
  for (std::size_t s = 0; s < sequences.size(); ++s) {
    logits[s].resize(static_cast<std::size_t>(prefill[s] * V));
    model.forward(sequences[s].data(), prefill[s], caches[s], logits[s].data());
  }
  for (int64_t step = 0;; ++step) {
    std::vector<int32_t> tokens;
    std::vector<KvCache*> batch;
    std::vector<std::size_t> who;
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      const int64_t position = prefill[s] + step;
      if (position >= static_cast<int64_t>(sequences[s].size())) continue;
      tokens.push_back(sequences[s][position]);
      batch.push_back(&caches[s]);
      who.push_back(s);
    }
    if (tokens.empty()) break;
    std::vector<float> out(tokens.size() * V);
    model.forward_decode_batch(tokens.data(), static_cast<int64_t>(tokens.size()), batch.data(), out.data());
    for (std::size_t b = 0; b < who.size(); ++b)
      logits[who[b]].insert(logits[who[b]].end(), out.begin() + b * V, out.begin() + (b + 1) * V);
  }
  for (std::size_t s = 0; s < sequences.size(); ++s)
    test::expect_close_abs(golden.get("logits.seq" + std::to_string(s)), logits[s], 3.4e-5f);
}

TEST(DecodeBatch, Q8CachesGiveEachSequenceWhatItGetsAlone) {
  // The q8 cache's int8 attention runs per token inside a batch: each
  // sequence's logits must equal those of the same tokens decoded alone.
  const Model model(test::golden_dir("v2-lite-tiny") + "/checkpoint");
  const auto sequences = test::golden_sequences("v2-lite-tiny");
  ASSERT_GE(sequences.size(), 2u);
  const int64_t V = model.config().vocab_size;
  const int64_t steps = static_cast<int64_t>(std::min(sequences[0].size(), sequences[1].size()));
  std::vector<std::vector<float>> alone(2), together(2);
  for (std::size_t s = 0; s < 2; ++s) {
    KvCache cache = model.new_cache(steps, DType::I8);
    std::vector<float> out(static_cast<std::size_t>(V));
    for (int64_t t = 0; t < steps; ++t) {
      model.forward(sequences[s].data() + t, 1, cache, out.data());
      alone[s].insert(alone[s].end(), out.begin(), out.end());
    }
  }
  std::vector<KvCache> caches;
  for (int s = 0; s < 2; ++s) caches.push_back(model.new_cache(steps, DType::I8));
  std::vector<KvCache*> batch = {&caches[0], &caches[1]};
  std::vector<float> out(static_cast<std::size_t>(2 * V));
  for (int64_t t = 0; t < steps; ++t) {
    const int32_t tokens[2] = {sequences[0][t], sequences[1][t]};
    model.forward_decode_batch(tokens, 2, batch.data(), out.data());
    for (int s = 0; s < 2; ++s) together[s].insert(together[s].end(), out.begin() + s * V, out.begin() + (s + 1) * V);
  }
  for (int s = 0; s < 2; ++s) {
    ASSERT_EQ(together[s].size(), alone[s].size());
    for (std::size_t i = 0; i < alone[s].size(); ++i)
      ASSERT_NEAR(together[s][i], alone[s][i], 1e-5f * (1.0f + std::fabs(alone[s][i]))) << "sequence " << s << " value " << i;
  }
}

TEST(GenerateBatch, EveryCompletionEqualsTheSameDrawAlone) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  const std::vector<std::vector<int32_t>> prompts = {{1, 17, 300, 42}, {5, 9}, {200, 201, 202, 203, 204, 205}};
  BatchGenerationOptions options;
  options.sampling.temperature = 1.0f;
  options.sampling.seed = 99;
  options.max_new_tokens = 12;
  options.stop_tokens = {7, 11};
  const int copies = 3;
  BatchGenerationStats stats;
  const std::vector<Completion> batch = generate_batch(model, prompts, copies, options, &stats);
  ASSERT_EQ(batch.size(), prompts.size() * copies);
  int64_t generated = 0;
  for (std::size_t p = 0; p < prompts.size(); ++p)
    for (int c = 0; c < copies; ++c) {
      const std::size_t i = p * copies + c;
      Session session(model, 64);
      GenerationOptions alone;
      alone.sampling = options.sampling;
      alone.sampling.seed = options.sampling.seed + i;
      alone.max_new_tokens = options.max_new_tokens;
      alone.stop_tokens = options.stop_tokens;
      const GenerationResult want = generate(session, prompts[p], alone, nullptr);
      std::vector<int32_t> expected = want.tokens;
      if (want.stop_reason == StopReason::EndToken) expected.push_back(session.tokens().back());
      EXPECT_EQ(batch[i].stop_reason, want.stop_reason) << i;
      EXPECT_EQ(batch[i].tokens, expected) << "completion " << i;
      generated += static_cast<int64_t>(batch[i].tokens.size());
    }
  EXPECT_EQ(stats.generated_tokens, generated);
  EXPECT_EQ(stats.prompt_tokens, 12);
}

TEST(GenerateBatch, RejectsPromptsThatDoNotFit) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  BatchGenerationOptions options;
  options.max_new_tokens = 250;
  EXPECT_TRUE(test::throws_error_mentioning([&] { generate_batch(model, {{1, 2, 3, 4, 5, 6, 7}}, 2, options); },
                                            {"prompt 0", "context of 256"}));
  EXPECT_TRUE(test::throws_error_mentioning([&] { generate_batch(model, {{}}, 2, {}); }, {"prompt 0 is empty"}));
}

}  // namespace
}  // namespace frugal
