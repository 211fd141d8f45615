// `frugal init --dtype fp8`: the tensors DeepSeek's FP8 release quantises are
// E4M3 with block multipliers that decode to the BF16 checkpoint's values
// (same seed) within E4M3's rounding, everything else as in BF16, and the
// checkpoint runs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/io/checkpoint.h"
#include "frugal/model/checkpoint_layout.h"
#include "frugal/model/init.h"
#include "frugal/model/model.h"
#include "support/test_support.h"

namespace frugal {
namespace {

TEST(InitFp8Test, QuantisedTensorsDecodeToTheBf16Values) {
  const std::string root = test::make_temp_dir();
  nlohmann::json config = preset_config("tiny");
  InitOptions options;
  options.seed = 11;
  write_random_checkpoint(config, root + "/bf16", options);
  config["quantization_config"] = {{"quant_method", "fp8"}, {"fmt", "e4m3"}, {"activation_scheme", "dynamic"},
                                   {"weight_block_size", {16, 16}}};
  options.dtype = DType::F8_E4M3;
  write_random_checkpoint(config, root + "/fp8", options);

  const Checkpoint bf16(root + "/bf16"), fp8(root + "/fp8");
  int quantised = 0;
  for (const TensorView* t : bf16.all_tensors()) {
    const TensorView& f = fp8.get(t->name);
    if (!fp8_quantized_weight(t->name)) {
      EXPECT_EQ(f.dtype, t->dtype) << t->name;
      EXPECT_EQ(f.to_f32(), t->to_f32()) << t->name;
      continue;
    }
    ++quantised;
    ASSERT_EQ(f.dtype, DType::F8_E4M3) << t->name;
    const TensorView& scales = fp8.get(t->name + "_scale_inv");
    ASSERT_EQ(scales.shape, (std::vector<int64_t>{(t->dim(0) + 15) / 16, (t->dim(1) + 15) / 16})) << t->name;
    const std::vector<float> want = t->to_f32(), s = scales.to_f32();
    for (int64_t r = 0; r < t->dim(0); ++r)
      for (int64_t c = 0; c < t->dim(1); ++c) {
        const float scale = s[(r / 16) * scales.dim(1) + c / 16];
        const float got = fp8_e4m3_to_f32(f.data[r * t->dim(1) + c]) * scale;
        const float w = want[r * t->dim(1) + c];
        // E4M3 keeps 3 mantissa bits: half a step is 1/16 of the value,
        // and values below the normal range step by 2^-9 of the scale.
        ASSERT_LE(std::fabs(got - w), std::max(std::fabs(w) / 16.0f, scale * std::ldexp(1.0f, -10)) * 1.0001f)
            << t->name << " [" << r << ", " << c << "]";
      }
  }
  EXPECT_GT(quantised, 100);
  const Model model(root + "/fp8");
  std::vector<int32_t> tokens = {3, 1, 4, 1, 5};
  std::vector<float> logits(tokens.size() * model.config().vocab_size);
  KvCache cache = model.new_cache(static_cast<int64_t>(tokens.size()));
  model.forward(tokens.data(), static_cast<int64_t>(tokens.size()), cache, logits.data());
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace frugal
