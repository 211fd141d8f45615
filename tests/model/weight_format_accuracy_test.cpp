// Quantised weights against float32 arithmetic on the stored weights: top-1
// agreement and mean KL(float32 || quantised) of the next-token distribution
// over every position of the golden sequences, and of the bundled trained
// model's text.
//
// Measured (AVX-512): goldens q8 473/548 top-1, mean KL 1.1e-2; q4 347/548,
// 4.1e-2. nano-r1 q8 109/111, KL 2.0e-3; q4 107/111, 1.5e-2. The goldens are
// random models whose routing margins are 2e-5 to 1e-4 (their MANIFESTs):
// 8-bit rounding of weights alone (activations kept in float32) already flips
// experts and gives 91% top-1 there, so their bars below are what 8 and 4 bits
// can keep, while the trained model holds issue 4's 95% for 4 bits. A broken
// conversion gives near-random choices (1/512 top-1) and fails every bar.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/model/model.h"
#include "frugal/tokenizer/tokenizer.h"
#include "support/golden.h"

namespace frugal {
namespace {

std::vector<float> prefill_logits(const Model& model, const std::vector<int32_t>& tokens) {
  const auto T = static_cast<int64_t>(tokens.size());
  std::vector<float> logits(static_cast<std::size_t>(T * model.config().vocab_size));
  KvCache cache = model.new_cache(T);
  model.forward(tokens.data(), T, cache, logits.data());
  return logits;
}

struct Agreement {
  int64_t positions = 0, same_top1 = 0;
  double kl_sum = 0.0;
  double top1_share() const { return static_cast<double>(same_top1) / static_cast<double>(positions); }
  double mean_kl() const { return kl_sum / static_cast<double>(positions); }
};

// KL(p || q) of softmax(a) and softmax(b), in double.
double kl_divergence(const float* a, const float* b, int64_t V) {
  const double max_a = *std::max_element(a, a + V), max_b = *std::max_element(b, b + V);
  double za = 0, zb = 0;
  for (int64_t v = 0; v < V; ++v) {
    za += std::exp(a[v] - max_a);
    zb += std::exp(b[v] - max_b);
  }
  double kl = 0;
  for (int64_t v = 0; v < V; ++v) {
    const double log_p = a[v] - max_a - std::log(za), log_q = b[v] - max_b - std::log(zb);
    kl += std::exp(log_p) * (log_p - log_q);
  }
  return kl;
}

void accumulate(Agreement& agreement, const std::vector<float>& reference, const std::vector<float>& candidate,
                int64_t V) {
  for (std::size_t j = 0; j * V < reference.size(); ++j) {
    const float* a = reference.data() + j * V;
    const float* b = candidate.data() + j * V;
    agreement.same_top1 += std::max_element(a, a + V) - a == std::max_element(b, b + V) - b;
    agreement.kl_sum += kl_divergence(a, b, V);
    ++agreement.positions;
  }
}

Agreement golden_agreement(WeightFormat format) {
  Agreement agreement;
  for (const test::GoldenVariant& variant : test::golden_variants()) {
    const std::string checkpoint = test::golden_dir(variant.name) + "/checkpoint";
    const Model reference(checkpoint), candidate(checkpoint, format);
    Agreement one;
    for (const std::vector<int32_t>& tokens : test::golden_sequences(variant.name))
      accumulate(one, prefill_logits(reference, tokens), prefill_logits(candidate, tokens),
                 reference.config().vocab_size);
    std::printf("%s, %s weights: top-1 %lld/%lld, mean KL %.2e\n", variant.name.c_str(), to_string(format).c_str(),
                static_cast<long long>(one.same_top1), static_cast<long long>(one.positions), one.mean_kl());
    agreement.positions += one.positions;
    agreement.same_top1 += one.same_top1;
    agreement.kl_sum += one.kl_sum;
  }
  return agreement;
}

TEST(WeightFormatAccuracyTest, QuantisedWeightsOnTheGoldens) {
  const Agreement q8 = golden_agreement(WeightFormat::Q8);
  EXPECT_GE(q8.top1_share(), 0.80) << q8.same_top1 << "/" << q8.positions;
  EXPECT_LT(q8.mean_kl(), 0.03);
  EXPECT_GT(q8.mean_kl(), 0.0) << "8-bit weights changed nothing: were they converted?";
  const Agreement q4 = golden_agreement(WeightFormat::Q4);
  EXPECT_GE(q4.top1_share(), 0.50) << q4.same_top1 << "/" << q4.positions;
  EXPECT_LT(q4.mean_kl(), 0.1);
  EXPECT_GT(q4.mean_kl(), q8.mean_kl()) << "fewer bits, further from float32";
}

// bf16 keeps BF16 weights as they are and rounds FP8 ones (times their
// block scales) to BF16; fp8 keeps FP8 weights and refuses a checkpoint
// without any.
TEST(WeightFormatAccuracyTest, Bf16AndFp8Formats) {
  const std::string bf16_dir = test::golden_dir("v3-tiny") + "/checkpoint";
  const std::string fp8_dir = test::golden_dir("v3-tiny-fp8") + "/checkpoint";
  const std::vector<int32_t> tokens = test::golden_sequences("v3-tiny-fp8")[0];
  EXPECT_EQ(prefill_logits(Model(bf16_dir, WeightFormat::Bf16), tokens), prefill_logits(Model(bf16_dir), tokens));
  EXPECT_EQ(prefill_logits(Model(fp8_dir, WeightFormat::Fp8), tokens), prefill_logits(Model(fp8_dir), tokens));
  EXPECT_THROW(Model(bf16_dir, WeightFormat::Fp8), Error);
  const Model fp8(fp8_dir), rounded(fp8_dir, WeightFormat::Bf16);
  Agreement a;
  accumulate(a, prefill_logits(fp8, tokens), prefill_logits(rounded, tokens), fp8.config().vocab_size);
  std::printf("v3-tiny-fp8, bf16 weights: top-1 %lld/%lld, mean KL %.2e\n", static_cast<long long>(a.same_top1),
              static_cast<long long>(a.positions), a.mean_kl());
  EXPECT_GT(a.mean_kl(), 0.0) << "FP8 weights times their scales are not all BF16 values";
  EXPECT_LT(a.mean_kl(), 0.03);
}

TEST(WeightFormatAccuracyTest, QuantisedWeightsKeepTheTrainedModelsChoices) {
  const std::string dir = std::string(FRUGAL_SOURCE_DIR) + "/models/nano-r1";
  const Tokenizer tokenizer = Tokenizer::load(dir);
  const Model reference(dir);
  const int64_t V = reference.config().vocab_size;
  double q8_kl = 0.0;
  for (WeightFormat format : {WeightFormat::Q8, WeightFormat::Q4}) {
    const Model candidate(dir, format);
    Agreement a;
    for (const char* text : {"Compute 352 + 479 = 831. Compute 88 - 19 = 69.",
                             "<think> 7 + 5 = 12, write 2 carry 1 </think> <answer> 1012 </answer>",
                             "Compute 905 + 96 = 1001. Compute 640 + 275 = 915. Compute 12 - 7 = 5."}) {
      const std::vector<int32_t> tokens = tokenizer.encode(text);
      accumulate(a, prefill_logits(reference, tokens), prefill_logits(candidate, tokens), V);
    }
    std::printf("nano-r1, %s weights: top-1 %lld/%lld, mean KL %.2e\n", to_string(format).c_str(),
                static_cast<long long>(a.same_top1), static_cast<long long>(a.positions), a.mean_kl());
    EXPECT_GE(a.top1_share(), format == WeightFormat::Q8 ? 0.97 : 0.95) << to_string(format);
    EXPECT_LT(a.mean_kl(), format == WeightFormat::Q8 ? 5e-3 : 2e-2) << to_string(format);
    if (format == WeightFormat::Q8) q8_kl = a.mean_kl();
    // Fewer bits, further from float32.
    if (format == WeightFormat::Q4) {
      EXPECT_GT(a.mean_kl(), q8_kl);
    }
  }
}

}  // namespace
}  // namespace frugal
