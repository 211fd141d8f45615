// Binding checkpoint tensors to the model: shapes must agree with config.json,
// FP8 weights need their block size and scale tensors, MTP tensors are bound
// only when the config asks for MTP.
#include <gtest/gtest.h>

#include "frugal/io/checkpoint.h"
#include "frugal/model/model.h"
#include "support/test_support.h"

namespace frugal {
namespace {

using json = nlohmann::json;

TEST(WeightsTest, ShapeDisagreeingWithConfigNamesTensorAndBothShapes) {
  const std::string dir = test::writable_checkpoint_copy("v2-tiny");
  test::edit_json_file(dir + "/config.json", [](json& c) { c["intermediate_size"] = 97; });
  EXPECT_TRUE(test::throws_error_mentioning([&] { Model model(dir); },
                                            {dir, "model.layers.0.mlp.gate_proj.weight", "[96, 64]", "[97, 64]"}));
}

TEST(WeightsTest, Fp8WithoutBlockSizeIsRejected) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny-fp8");
  test::edit_json_file(dir + "/config.json", [](json& c) { c.erase("quantization_config"); });
  EXPECT_TRUE(test::throws_error_mentioning([&] { Model model(dir); }, {"F8_E4M3", "weight_block_size"}));
}

TEST(WeightsTest, Fp8ScaleShapeMustMatchTheBlockSize) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny-fp8");
  // 32x32 blocks would need fewer scale rows/columns than the 16x16 file has.
  test::edit_json_file(dir + "/config.json",
                       [](json& c) { c["quantization_config"]["weight_block_size"] = {32, 32}; });
  EXPECT_TRUE(test::throws_error_mentioning([&] { Model model(dir); }, {"weight_scale_inv", "config.json implies"}));
}

TEST(WeightsTest, MissingScaleTensorIsNamed) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny-fp8");
  const std::string scale = "model.layers.2.self_attn.kv_b_proj.weight_scale_inv";
  test::edit_safetensors_header(dir + "/model.safetensors", [&](json& header, uint64_t) { header.erase(scale); });
  EXPECT_TRUE(test::throws_error_mentioning([&] { Model model(dir); }, {dir, scale}));
}

TEST(WeightsTest, MtpTensorsAreIgnoredWhenTheConfigHasNoMtp) {
  // A loader that only runs the main model must not need (or build) layer L.
  const std::string dir = test::writable_checkpoint_copy("v3-tiny");
  test::edit_json_file(dir + "/config.json", [](json& c) { c["num_nextn_predict_layers"] = 0; });
  const Model model(dir);
  EXPECT_EQ(model.mtp_modules(), 0);
  EXPECT_EQ(model.weights().layers.size(), 4u);
}

TEST(WeightsTest, BindsEveryLayerKind) {
  const Model v3(test::data_path("golden/v3-tiny/checkpoint"));
  const auto& w = v3.weights();
  EXPECT_TRUE(w.layers[0].dense_mlp.has_value());
  EXPECT_FALSE(w.layers[0].moe.has_value());
  ASSERT_TRUE(w.layers[1].moe.has_value());
  EXPECT_EQ(w.layers[1].moe->experts.size(), 16u);
  EXPECT_EQ(w.layers[1].moe->correction_bias.size(), 16u);
  ASSERT_TRUE(w.layers[1].moe->shared.has_value());
  EXPECT_EQ(w.layers[1].moe->shared->gate.rows, 32);
  EXPECT_EQ(w.layers[1].attention.w_uk.size(), 4u);
  EXPECT_EQ(w.layers[1].attention.w_uk[0].rows, 16);  // qk_nope_head_dim
  EXPECT_EQ(w.layers[1].attention.w_uv[0].rows, 16);  // v_head_dim
  EXPECT_EQ(w.mtp.size(), 1u);

  const Model lite(test::data_path("golden/v2-lite-tiny/checkpoint"));
  EXPECT_FALSE(lite.weights().layers[0].attention.q_proj.empty());
  EXPECT_TRUE(lite.weights().layers[0].attention.q_a_proj.empty());
  EXPECT_TRUE(lite.weights().layers[1].moe->correction_bias.empty());  // greedy: no bias
  EXPECT_EQ(lite.weights().layers[1].moe->shared->gate.rows, 64);      // 2 shared experts fused
}

}  // namespace
}  // namespace frugal
