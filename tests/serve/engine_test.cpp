// The serving engine: a sequence's tokens do not depend on the sequences
// decoded beside it, equal the single-sequence generator's, and the prefix
// cache, limits and cancellation behave.
#include "frugal/serve/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "frugal/generate/generator.h"
#include "frugal/generate/session.h"
#include "frugal/model/init.h"
#include "support/golden.h"
#include "support/test_support.h"

namespace frugal::serve {
namespace {

struct Outcome {
  std::vector<int32_t> tokens;
  std::string text;
  SequenceEvent last;
};

Outcome collect(SequenceStream& stream) {
  Outcome out;
  std::vector<SequenceEvent> events;
  while (!stream.wait(events, std::chrono::milliseconds(100))) {
  }
  for (SequenceEvent& e : events) {
    if (e.kind == SequenceEvent::Kind::Token) out.tokens.push_back(e.token);
    out.text += e.text;
    out.last = e;
  }
  return out;
}

SequenceRequest request(std::vector<int32_t> prompt, float temperature, uint64_t seed, int64_t max_new_tokens) {
  SequenceRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  r.sampling.top_p = temperature > 0 ? 0.95f : 1.0f;
  r.max_new_tokens = max_new_tokens;
  return r;
}

std::vector<int32_t> prompt_of(int length, int32_t start, int32_t vocab) {
  std::vector<int32_t> p;
  for (int i = 0; i < length; ++i) p.push_back((start + 7 * i) % vocab);
  return p;
}

// The V2-Lite shape cut down (2 layers, 16 experts, hidden 512): its experts
// are large enough that one token (or up to 8) takes the streamed-experts
// path and 16 the grouped one, so both must give each token the same values.
const std::string& large_expert_checkpoint() {
  static const std::string dir = [] {
    const std::string out = test::make_temp_dir() + "/v2-lite-cut";
    nlohmann::json config = preset_config("v2-lite");
    config["num_hidden_layers"] = 2;
    config["n_routed_experts"] = 16;
    config["hidden_size"] = 512;
    config["intermediate_size"] = 1024;
    config["vocab_size"] = 512;
    InitOptions options;
    options.seed = 3;
    options.dtype = DType::BF16;
    write_random_checkpoint(config, out, options);
    return out;
  }();
  return dir;
}

struct CompanyCase {
  std::string name;
  bool large_experts;
  WeightFormat weights;
};

class EngineCompany : public testing::TestWithParam<CompanyCase> {};

TEST_P(EngineCompany, GreedyAndSeededTokensAreTheSameAloneAndAmongSixteen) {
  const Model model(GetParam().large_experts ? large_expert_checkpoint() : test::golden_dir("v3-tiny") + "/checkpoint",
                    GetParam().weights);
  const int32_t V = static_cast<int32_t>(model.config().vocab_size);
  EngineOptions options;
  options.context = 64;
  options.max_sequences = 32;
  options.prefill_chunk = 5;  // prompts advance in several chunks while others decode
  Engine engine(model, nullptr, options);

  const SequenceRequest greedy = request(prompt_of(9, 3, V), 0.0f, 0, 16);
  const SequenceRequest seeded = request(prompt_of(6, 11, V), 0.9f, 1234, 16);
  const Outcome greedy_alone = collect(*engine.submit(greedy));
  const Outcome seeded_alone = collect(*engine.submit(seeded));
  ASSERT_EQ(greedy_alone.tokens.size(), 16u);
  ASSERT_EQ(seeded_alone.tokens.size(), 16u);

  // The greedy request through the single-sequence generator (frugal generate).
  Session session(model, 64);
  GenerationOptions generation;
  generation.sampling.temperature = 0.0f;
  generation.max_new_tokens = 16;
  EXPECT_EQ(generate(session, greedy.prompt, generation, nullptr).tokens, greedy_alone.tokens);

  // The same two among 14 others of other lengths and settings, all at once.
  std::vector<std::shared_ptr<SequenceStream>> streams;
  for (int i = 0; i < 16; ++i) {
    if (i == 5) streams.push_back(engine.submit(greedy));
    else if (i == 11) streams.push_back(engine.submit(seeded));
    else streams.push_back(engine.submit(request(prompt_of(3 + i, 5 * i + 1, V), i % 3 == 0 ? 0.0f : 1.1f, 99 + i, 8 + i)));
  }
  std::vector<Outcome> outcomes;
  for (auto& s : streams) outcomes.push_back(collect(*s));
  EXPECT_EQ(outcomes[5].tokens, greedy_alone.tokens);
  EXPECT_EQ(outcomes[11].tokens, seeded_alone.tokens);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(outcomes[i].last.kind, SequenceEvent::Kind::Finished) << i;
    EXPECT_EQ(outcomes[i].last.stop_reason, StopReason::MaxTokens) << i;
  }
  // The statistics follow at the end of the engine's step.
  for (int i = 0; i < 100 && engine.stats().running > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(engine.stats().kv_bytes_in_use, 0u);
  EXPECT_GT(engine.stats().decode_steps, 0u);
}

INSTANTIATE_TEST_SUITE_P(Models, EngineCompany,
                         testing::Values(CompanyCase{"TinyStored", false, WeightFormat::Stored},
                                         CompanyCase{"TinyQ8", false, WeightFormat::Q8},
                                         CompanyCase{"LargeExpertsBf16", true, WeightFormat::Stored},
                                         CompanyCase{"LargeExpertsQ8", true, WeightFormat::Q8},
                                         CompanyCase{"LargeExpertsQ4", true, WeightFormat::Q4}),
                         [](const auto& info) { return info.param.name; });

TEST(Engine, PrefixCacheReusesAFinishedSequenceAndGivesTheSameTokens) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  const int32_t V = static_cast<int32_t>(model.config().vocab_size);
  EngineOptions options;
  options.context = 64;
  options.prefix_cache_bytes = 1 << 20;
  Engine cached(model, nullptr, options);
  options.prefix_cache_bytes = 0;
  Engine uncached(model, nullptr, options);

  const SequenceRequest first = request(prompt_of(10, 2, V), 0.0f, 0, 6);
  const Outcome turn1 = collect(*cached.submit(first));
  EXPECT_EQ(turn1.last.usage.cached_prompt_tokens, 0);
  // The next turn: the first prompt, the reply, and more.
  SequenceRequest second = first;
  second.prompt.insert(second.prompt.end(), turn1.tokens.begin(), turn1.tokens.end());
  for (int32_t t : {4, 9, 1}) second.prompt.push_back(t);
  const Outcome turn2 = collect(*cached.submit(second));
  // Every position the first sequence fed: its prompt and all replies but the last (never fed).
  EXPECT_EQ(turn2.last.usage.cached_prompt_tokens, 10 + 6 - 1);
  EXPECT_GT(cached.stats().prefix_cache_bytes, 0u);
  const Outcome fresh = collect(*uncached.submit(second));
  EXPECT_EQ(fresh.last.usage.cached_prompt_tokens, 0);
  EXPECT_EQ(turn2.tokens, fresh.tokens);
}

// A chat's next turn: the first prompt, the reply, its end token, the next
// question. A reply that ended with its end token is cached whole (the end
// token is sampled, never fed), so the hit is at least prompt plus reply.
TEST(Engine, NextTurnReusesThePromptAndTheWholeReply) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  const int32_t V = static_cast<int32_t>(model.config().vocab_size);
  EngineOptions options;
  options.context = 64;
  options.prefix_cache_bytes = 1 << 20;
  Engine engine(model, nullptr, options);
  SequenceRequest first = request(prompt_of(12, 5, V), 0.0f, 0, 20);
  // The greedy continuation, then the same request ending at its 6th token.
  const std::vector<int32_t> continuation = collect(*engine.submit(first)).tokens;
  const int32_t end_token = continuation[5];
  const auto reply_length = static_cast<std::size_t>(
      std::find(continuation.begin(), continuation.end(), end_token) - continuation.begin());
  first.prompt = prompt_of(12, 5, V);
  first.stop_tokens = {end_token};
  Engine fresh(model, nullptr, options);
  const Outcome turn1 = collect(*fresh.submit(first));
  ASSERT_EQ(turn1.last.stop_reason, StopReason::EndToken);
  ASSERT_EQ(turn1.tokens.size(), reply_length);
  SequenceRequest second = first;
  second.prompt.insert(second.prompt.end(), turn1.tokens.begin(), turn1.tokens.end());
  second.prompt.push_back(end_token);
  for (int32_t t : {7, 8, 9}) second.prompt.push_back(t);
  const Outcome turn2 = collect(*fresh.submit(second));
  EXPECT_EQ(turn2.last.usage.cached_prompt_tokens, static_cast<int64_t>(12 + reply_length));
}

TEST(Engine, RefusesWhatCanNeverRunAndQueuesNoMoreThanAllowed) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  EngineOptions options;
  options.context = 32;
  options.max_sequences = 1;
  options.max_queue = 1;
  Engine engine(model, nullptr, options);
  EXPECT_TRUE(test::throws_error_mentioning([&] { engine.submit(request(prompt_of(30, 1, 50), 0, 0, 8)); }, {"context of 32"}));
  EXPECT_TRUE(test::throws_error_mentioning([&] { engine.submit(request({}, 0, 0, 8)); }, {"empty"}));
  EXPECT_TRUE(test::throws_error_mentioning([&] { engine.submit(request({1, 100000}, 0, 0, 8)); }, {"outside the vocabulary"}));
  EXPECT_TRUE(test::throws_error_mentioning([&] { engine.submit(request({1, 2}, -1.0f, 0, 8)); }, {"temperature"}));

  // One runs, one waits; a third finds the queue full until they are gone.
  auto running = engine.submit(request(prompt_of(4, 1, 50), 0, 0, 24));
  std::vector<std::shared_ptr<SequenceStream>> waiting;
  bool refused = false;
  for (int i = 0; i < 8 && !refused; ++i) {
    try {
      waiting.push_back(engine.submit(request(prompt_of(4, 2, 50), 0, 0, 4)));
    } catch (const QueueFull&) {
      refused = true;
    }
  }
  EXPECT_TRUE(refused);
  running->cancel();
  EXPECT_EQ(collect(*running).last.stop_reason, StopReason::Interrupted);
  for (auto& w : waiting) EXPECT_EQ(collect(*w).last.kind, SequenceEvent::Kind::Finished);
}

TEST(Engine, ShutdownEndsRunningAndWaitingSequences) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  EngineOptions options;
  options.context = 64;
  options.max_sequences = 1;
  Engine engine(model, nullptr, options);
  auto a = engine.submit(request(prompt_of(4, 1, 50), 0, 0, 60));
  auto b = engine.submit(request(prompt_of(4, 2, 50), 0, 0, 60));
  engine.shutdown();
  EXPECT_EQ(collect(*a).last.stop_reason, StopReason::Interrupted);
  EXPECT_EQ(collect(*b).last.stop_reason, StopReason::Interrupted);
  EXPECT_TRUE(test::throws_error_mentioning([&] { engine.submit(request({1, 2}, 0, 0, 4)); }, {"shutting down"}));
}

}  // namespace
}  // namespace frugal::serve
