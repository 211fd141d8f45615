// The forward pass against the float64 reference goldens: logits, MTP
// logits, per-layer hidden states and routing, for every variant, through
// prefill (both attention forms), token-by-token decode through the latent
// cache, and a prefill followed by decode.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/core/dtype.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/io/safetensors.h"
#include "frugal/model/model.h"
#include "support/golden.h"
#include "support/golden_compare.h"
#include "support/test_support.h"

namespace frugal {
namespace {

enum class Mode { PrefillNaive, PrefillAbsorbed, Decode, PrefillThenDecode };

struct Case {
  test::GoldenVariant variant;
  Mode mode;
};

std::string mode_name(Mode mode) {
  switch (mode) {
    case Mode::PrefillNaive: return "PrefillNaive";
    case Mode::PrefillAbsorbed: return "PrefillAbsorbed";
    case Mode::Decode: return "Decode";
    case Mode::PrefillThenDecode: return "PrefillThenDecode";
  }
  return "?";
}

struct SequenceOutputs {
  std::vector<float> logits, mtp_logits;
  ForwardTrace trace;
};

// Runs one sequence the way `mode` says; MTP logits come from module 1.
SequenceOutputs run(const Model& model, const std::vector<int32_t>& tokens, Mode mode,
                    DType kv_cache_dtype = DType::F32) {
  const auto T = static_cast<int64_t>(tokens.size());
  const int64_t V = model.config().vocab_size, D = model.config().hidden_size;
  const bool has_mtp = model.mtp_modules() > 0;
  SequenceOutputs out;
  out.logits.resize(static_cast<std::size_t>(T * V));
  out.mtp_logits.resize(static_cast<std::size_t>((T - 1) * V));
  ForwardOptions options;
  options.trace = &out.trace;
  options.prefill_attention = mode == Mode::PrefillAbsorbed ? AttentionForm::Absorbed : AttentionForm::Naive;
  KvCache cache = model.new_cache(T, kv_cache_dtype);
  std::vector<float> hidden(static_cast<std::size_t>(T * D));

  // Prefill the first `prefix` tokens, then decode one at a time.
  const int64_t prefix = mode == Mode::Decode ? 0 : (mode == Mode::PrefillThenDecode ? T / 3 : T);
  model.forward(tokens.data(), prefix, cache, out.logits.data(), hidden.data(), options);
  if (has_mtp && prefix > 1)
    model.mtp_forward(1, hidden.data(), tokens.data() + 1, prefix - 1, cache, out.mtp_logits.data(),
                      nullptr, options);
  for (int64_t j = prefix; j < T; ++j) {
    model.forward(&tokens[j], 1, cache, out.logits.data() + j * V, hidden.data() + j * D, options);
    // MTP position j-1 needs the main hidden state at j-1 and token j.
    if (has_mtp && j >= 1)
      model.mtp_forward(1, hidden.data() + (j - 1) * D, &tokens[j], 1, cache,
                        out.mtp_logits.data() + (j - 1) * V, nullptr, options);
  }
  return out;
}

class GoldenForwardTest : public testing::TestWithParam<Case> {};

TEST_P(GoldenForwardTest, MatchesReference) {
  const auto& [variant, mode] = GetParam();
  const std::string dir = test::golden_dir(variant.name);
  const Model model(dir + "/checkpoint");
  const SafetensorsFile golden(dir + "/golden.safetensors");
  const auto sequences = test::golden_sequences(variant.name);
  const int L = model.config().num_hidden_layers;

  for (std::size_t n = 0; n < sequences.size(); ++n) {
    SCOPED_TRACE("sequence " + std::to_string(n));
    const std::string seq = "seq" + std::to_string(n);
    SequenceOutputs out = run(model, sequences[n], mode);
    test::expect_close_abs(golden.get("logits." + seq), out.logits, variant.logits_abs);
    if (model.mtp_modules() > 0)
      test::expect_close_abs(golden.get("mtp1_logits." + seq), out.mtp_logits, variant.mtp_logits_abs);

    for (int layer = 0; layer < L + model.mtp_modules(); ++layer) {
      const std::string name = "routing." + seq + ".layer" + std::to_string(layer);
      if (!golden.find(name + ".ids")) continue;
      const std::string ours = "routing.layer" + std::to_string(layer);
      test::expect_same_routing(golden.get(name + ".ids"), golden.get(name + ".weights"),
                                out.trace.ids[ours + ".ids"], out.trace.values[ours + ".weights"],
                                variant.routing_weight_abs);
    }
    // The goldens hold hidden states for sequence 0 only.
    if (n != 0) continue;
    test::expect_close_rel(golden.get("hidden.seq0.embed"), out.trace.values["hidden.embed"], variant.hidden_rel);
    for (int layer = 0; layer < L; ++layer)
      test::expect_close_rel(golden.get("hidden.seq0.layer" + std::to_string(layer)),
                             out.trace.values["hidden.layer" + std::to_string(layer)], variant.hidden_rel);
    test::expect_close_rel(golden.get("hidden.seq0.final_norm"), out.trace.values["hidden.final_norm"],
                           variant.hidden_rel);
    if (model.mtp_modules() > 0)
      test::expect_close_rel(golden.get("mtp1_hidden.seq0"), out.trace.values["mtp1_hidden"], variant.hidden_rel);
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const auto& variant : test::golden_variants())
    for (Mode mode : {Mode::PrefillNaive, Mode::PrefillAbsorbed, Mode::Decode, Mode::PrefillThenDecode})
      cases.push_back({variant, mode});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllVariants, GoldenForwardTest, testing::ValuesIn(all_cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.variant.name + "_" + mode_name(info.param.mode);
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

// A BF16 latent cache rounds every cached value to 8 significant bits, a q8
// one to 255 steps per block of 32. On these tiny random goldens their
// effect on the logits is printed only: their
// experts win by margins of 1e-5 (MANIFEST), so any rounding flips some
// routing and the logit error says little (bounded by the trained model's
// test in kv_cache_precision_test.cpp).
TEST(KvCacheTest, RoundedCachesOnTheGoldens) {
  for (const auto& variant : test::golden_variants()) {
    const std::string dir = test::golden_dir(variant.name);
    const Model model(dir + "/checkpoint");
    const SafetensorsFile golden(dir + "/golden.safetensors");
    const auto sequences = test::golden_sequences(variant.name);
    float worst_f32 = 0.0f, worst_bf16 = 0.0f, worst_q8 = 0.0f, scale = 0.0f;
    for (std::size_t n = 0; n < sequences.size(); ++n) {
      const std::vector<float> reference = golden.get("logits.seq" + std::to_string(n)).to_f32();
      const auto error = [&](DType dtype) {
        const SequenceOutputs out = run(model, sequences[n], Mode::Decode, dtype);
        return test::max_abs_diff(reference.data(), out.logits.data(), reference.size());
      };
      worst_f32 = std::max(worst_f32, error(DType::F32));
      worst_bf16 = std::max(worst_bf16, error(DType::BF16));
      worst_q8 = std::max(worst_q8, error(DType::I8));
      scale = std::max(scale, test::max_abs(reference.data(), reference.size()));
    }
    std::printf("%s: max |logit error| f32 cache %.2e, bf16 cache %.2e, q8 cache %.2e (logits up to %.2f)\n",
                variant.name.c_str(), worst_f32, worst_bf16, worst_q8, scale);
    EXPECT_GT(worst_bf16, worst_f32) << "the bf16 cache changed nothing: is it rounding?";
    EXPECT_GT(worst_q8, worst_f32) << "the q8 cache changed nothing: is it rounding?";
  }
}

TEST(KvCacheTest, StoresBf16ValuesInHalfTheBytes) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  KvCache f32 = model.new_cache(10), bf16 = model.new_cache(10, DType::BF16);
  EXPECT_EQ(bf16.bytes_per_token() * 2, f32.bytes_per_token());
  EXPECT_EQ(bf16.bytes_allocated() * 2, f32.bytes_allocated());
  std::vector<float> latent(32), key(8), back(32), key_back(8);
  for (std::size_t i = 0; i < latent.size(); ++i) latent[i] = 1.0f + static_cast<float>(i) / 3.0f;
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = -0.5f - static_cast<float>(i) / 7.0f;
  for (KvCache* cache : {&f32, &bf16}) {
    cache->store(2, 7, latent.data(), key.data());
    cache->load_latent(2, 7, back.data());
    cache->load_rope_key(2, 7, key_back.data());
    for (std::size_t i = 0; i < latent.size(); ++i) {
      if (cache == &f32) EXPECT_EQ(back[i], latent[i]);
      else EXPECT_EQ(back[i], bf16_to_f32(f32_to_bf16(latent[i])));  // rounded once, to nearest
    }
    for (std::size_t i = 0; i < key.size(); ++i)
      EXPECT_NEAR(key_back[i], key[i], cache == &f32 ? 0.0f : 4e-3f * std::fabs(key[i]));
  }
  EXPECT_THROW(parse_kv_cache_dtype("fp8", 10), Error);
  EXPECT_EQ(parse_kv_cache_dtype("auto", kAutoQ8CacheContext), DType::F32);
  EXPECT_EQ(parse_kv_cache_dtype("auto", kAutoQ8CacheContext + 1), DType::I8);
  EXPECT_EQ(parse_kv_cache_dtype("bf16", 1 << 20), DType::BF16);
}

TEST(KvCacheTest, StoresQ8ValuesAsCodesAndBlockScales) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");  // latent 32, rope key 8: one short block
  KvCache f32 = model.new_cache(10), q8 = model.new_cache(10, parse_kv_cache_dtype("q8", 10));
  EXPECT_EQ(q8.dtype(), DType::I8);
  EXPECT_EQ(kv_cache_dtype_name(q8.dtype()), "q8");
  EXPECT_EQ(q8.bytes_per_token(), f32.bytes_per_token() / 4 + static_cast<std::size_t>(q8.layers()) * 2 * 4);
  std::vector<float> latent(32), key(8), back(32), key_back(8);
  for (std::size_t i = 0; i < latent.size(); ++i) latent[i] = std::sin(static_cast<float>(i)) * 3.0f;
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = -0.5f - static_cast<float>(i) / 7.0f;
  q8.store(2, 7, latent.data(), key.data());
  q8.load_latent(2, 7, back.data());
  q8.load_rope_key(2, 7, key_back.data());
  const auto half_step = [](const std::vector<float>& v) {
    float amax = 0.0f;
    for (float x : v) amax = std::max(amax, std::fabs(x));
    return 0.5f * amax / 127.0f * 1.0001f;
  };
  for (std::size_t i = 0; i < latent.size(); ++i) EXPECT_NEAR(back[i], latent[i], half_step(latent)) << i;
  for (std::size_t i = 0; i < key.size(); ++i) EXPECT_NEAR(key_back[i], key[i], half_step(key)) << i;
  // The largest value of a block is stored exactly (code 127).
  EXPECT_FLOAT_EQ(key_back[7], key[7]);
}

TEST(KvCacheTest, ExceedingCapacityFailsClearlyAndKeepsTheCache) {
  const Model model(test::golden_dir("v2-tiny") + "/checkpoint");
  KvCache cache = model.new_cache(4);
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
  std::vector<float> logits(5 * 512);
  model.forward(tokens.data(), 3, cache, logits.data());
  try {
    model.forward(tokens.data() + 3, 2, cache, logits.data());
    FAIL() << "expected the capacity error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("capacity of 4 tokens"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cache.filled(0), 3);  // the failed call wrote nothing
  model.forward(tokens.data() + 3, 1, cache, logits.data());
  EXPECT_EQ(cache.filled(0), 4);
}

TEST(KvCacheTest, CapacityBeyondMaxPositionIsRejected) {
  const Model model(test::golden_dir("v2-tiny") + "/checkpoint");
  EXPECT_THROW(model.new_cache(257), Error);  // max_position_embeddings = 256
  EXPECT_NO_THROW(model.new_cache(256));
}

TEST(KvCacheTest, HoldsOnlyTheLatentAndRopeKey) {
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  const KvCache cache = model.new_cache(10);
  // 4 main layers + 1 MTP layer, (kv_lora_rank 32 + qk_rope 8) float32 values each.
  EXPECT_EQ(cache.bytes_per_token(), 5u * (32 + 8) * 4);
  EXPECT_EQ(cache.bytes_allocated(), 10 * cache.bytes_per_token());
}

TEST(ModelTest, OutOfVocabularyTokenIsAnError) {
  const Model model(test::golden_dir("v2-tiny") + "/checkpoint");
  KvCache cache = model.new_cache(2);
  const int32_t token = 512;
  std::vector<float> logits(512);
  EXPECT_THROW(model.forward(&token, 1, cache, logits.data()), Error);
  EXPECT_EQ(cache.filled(0), 0);
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

TEST(ModelTest, ThreadCountDoesNotChangeTheNumbers) {
  // Threads split weight rows and attention heads, never a sum, so every
  // thread count must give bit-identical logits.
  const Model model(test::golden_dir("v3-tiny") + "/checkpoint");
  const auto tokens = test::golden_sequences("v3-tiny")[0];
  const auto T = static_cast<int64_t>(tokens.size());
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    ThreadPool::set_global_threads(threads);
    KvCache cache = model.new_cache(T);
    results.emplace_back(static_cast<std::size_t>(T * 512));
    model.forward(tokens.data(), T, cache, results.back().data());
  }
  ThreadPool::set_global_threads(2);
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

// The golden comparison once more with each SIMD level the CPU offers, so the
// portable kernels stay checked on machines that would never pick them.
TEST(ModelTest, EverySimdLevelMatchesTheReference) {
  const auto& variant = test::golden_variants()[0];
  const Model model(test::golden_dir(variant.name) + "/checkpoint");
  const SafetensorsFile golden(test::golden_dir(variant.name) + "/golden.safetensors");
  const auto tokens = test::golden_sequences(variant.name)[1];
  const SimdLevel hardware = hardware_simd_level();
  for (SimdLevel level : {SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512}) {
    if (level > hardware) continue;
    SCOPED_TRACE(to_string(level));
    set_simd_level(level);
    for (Mode mode : {Mode::PrefillNaive, Mode::Decode}) {
      const SequenceOutputs out = run(model, tokens, mode);
      test::expect_close_abs(golden.get("logits.seq1"), out.logits, variant.logits_abs);
      test::expect_close_abs(golden.get("mtp1_logits.seq1"), out.mtp_logits, variant.mtp_logits_abs);
    }
  }
  set_simd_level(hardware);
}

}  // namespace
}  // namespace frugal
