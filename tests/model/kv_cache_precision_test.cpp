// The BF16 latent cache on a trained model (the bundled nano-r1): greedy
// decoding's choices and the logits against the float32 cache. The model's
// attention is sharp (it must pick single digits out of the prompt), so 8-bit
// rounding of the cached latents moves its logits far more than the 1e-3 a
// smooth model would show: measured 108/111 top-1, rms 0.17 (the bounds
// below catch a broken cache, which gives near-random choices).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "frugal/model/model.h"
#include "frugal/tokenizer/tokenizer.h"

namespace frugal {
namespace {

std::string bundled_model() { return std::string(FRUGAL_SOURCE_DIR) + "/models/nano-r1"; }

// Logits [T, V] of `tokens` fed one at a time through a cache of `dtype`.
std::vector<float> decode_logits(const Model& model, const std::vector<int32_t>& tokens, DType dtype) {
  const int64_t V = model.config().vocab_size;
  KvCache cache = model.new_cache(static_cast<int64_t>(tokens.size()), dtype);
  std::vector<float> logits(tokens.size() * V);
  for (std::size_t j = 0; j < tokens.size(); ++j) model.forward(&tokens[j], 1, cache, logits.data() + j * V);
  return logits;
}

TEST(KvCachePrecisionTest, Bf16CacheKeepsTheTrainedModelsChoices) {
  const Model model(bundled_model());
  const Tokenizer tokenizer = Tokenizer::load(bundled_model());
  const int64_t V = model.config().vocab_size;
  int64_t positions = 0, same_top1 = 0;
  double worst = 0.0, sum_sq = 0.0;
  for (const char* text : {"Compute 352 + 479 = 831. Compute 88 - 19 = 69.",
                           "<think> 7 + 5 = 12, write 2 carry 1 </think> <answer> 1012 </answer>",
                           "Compute 905 + 96 = 1001. Compute 640 + 275 = 915. Compute 12 - 7 = 5."}) {
    const std::vector<int32_t> tokens = tokenizer.encode(text);
    ASSERT_GT(tokens.size(), 10u);
    const std::vector<float> f32 = decode_logits(model, tokens, DType::F32);
    const std::vector<float> bf16 = decode_logits(model, tokens, DType::BF16);
    for (std::size_t j = 0; j < tokens.size(); ++j) {
      const float* a = f32.data() + j * V;
      const float* b = bf16.data() + j * V;
      same_top1 += std::max_element(a, a + V) - a == std::max_element(b, b + V) - b;
      ++positions;
      for (int64_t v = 0; v < V; ++v) {
        worst = std::max(worst, static_cast<double>(std::fabs(a[v] - b[v])));
        sum_sq += static_cast<double>(a[v] - b[v]) * (a[v] - b[v]);
      }
    }
  }
  const double rms = std::sqrt(sum_sq / static_cast<double>(positions * V));
  std::printf("nano-r1, bf16 against f32 cache: top-1 %lld/%lld, max |logit diff| %.3e, rms %.3e\n",
              static_cast<long long>(same_top1), static_cast<long long>(positions), worst, rms);
  EXPECT_GE(same_top1 * 100, positions * 95) << "top-1 agreement below 95%";
  EXPECT_GT(worst, 0.0) << "the bf16 cache changed nothing: is it rounding?";
  EXPECT_LT(rms, 0.5) << "logits moved more than 8-bit rounding of the cache explains";
}

}  // namespace
}  // namespace frugal
