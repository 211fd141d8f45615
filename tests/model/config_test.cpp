// config.json parsing: the golden configurations, the attention softmax
// scale (checked against the goldens' MANIFEST and the real DeepSeek-V3), and
// a rejection naming the field for each impossible or unsupported value.
#include "frugal/model/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "support/test_support.h"

namespace frugal {
namespace {

using json = nlohmann::json;

// The softmax scales the reference computed for the goldens (MANIFEST.md).
constexpr double kScaleMscaleOne = 0.26464225796422669;     // v3-tiny, v2-tiny
constexpr double kScaleMscale0707 = 0.24609782191507454;    // v2-lite-tiny

std::string golden_checkpoint(const std::string& variant) {
  return test::data_path("golden/" + variant + "/checkpoint");
}

json golden_config_json(const std::string& variant) {
  return json::parse(test::read_bytes(golden_checkpoint(variant) + "/config.json"));
}

// The golden v3-tiny config with one edit applied; errors must name the
// source given here and the field at fault.
constexpr const char* kSource = "edited/config.json";

Config parse_edited(const std::function<void(json&)>& edit) {
  json config = golden_config_json("v3-tiny");
  edit(config);
  return parse_config(config.dump(), kSource);
}

testing::AssertionResult edit_is_rejected(const std::function<void(json&)>& edit,
                                          std::vector<std::string> parts) {
  parts.push_back(kSource);
  return test::throws_error_mentioning([&] { parse_edited(edit); }, parts);
}

// ---- Golden configurations --------------------------------------------------------

TEST(ConfigGolden, V3Tiny) {
  const Config c = load_config(golden_checkpoint("v3-tiny"));
  EXPECT_EQ(c.family, ModelFamily::DeepSeekV3);
  EXPECT_EQ(c.family_name(), "DeepSeek-V3");
  EXPECT_EQ(c.architecture, "DeepseekV3ForCausalLM");
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_hidden_layers, 4);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.q_lora_rank, 32);
  EXPECT_EQ(c.kv_lora_rank, 32);
  EXPECT_EQ(c.qk_nope_head_dim, 16);
  EXPECT_EQ(c.qk_rope_head_dim, 8);
  EXPECT_EQ(c.qk_head_dim(), 24);
  EXPECT_EQ(c.v_head_dim, 16);
  EXPECT_EQ(c.intermediate_size, 96);
  EXPECT_EQ(c.moe_intermediate_size, 32);
  EXPECT_EQ(c.n_routed_experts, 16);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_EQ(c.num_experts_per_tok, 4);
  EXPECT_EQ(c.first_k_dense_replace, 1);
  EXPECT_EQ(c.n_group, 4);
  EXPECT_EQ(c.topk_group, 2);
  EXPECT_EQ(c.topk_method, TopkMethod::NoauxTc);
  EXPECT_EQ(c.scoring_func, ScoringFunc::Sigmoid);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_EQ(c.num_nextn_predict_layers, 1);
  EXPECT_EQ(c.max_position_embeddings, 256);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Yarn);
  EXPECT_EQ(c.rope_scaling.factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_EQ(c.rope_scaling.beta_fast, 32.0);
  EXPECT_EQ(c.rope_scaling.beta_slow, 1.0);
  EXPECT_EQ(c.rope_scaling.mscale, 1.0);
  EXPECT_EQ(c.rope_scaling.mscale_all_dim, 1.0);
  EXPECT_EQ(c.weight_block_rows, 0);
  EXPECT_EQ(c.weight_block_cols, 0);
  EXPECT_NEAR(c.softmax_scale(), kScaleMscaleOne, 1e-12);
  EXPECT_FALSE(c.is_moe_layer(0));
  EXPECT_TRUE(c.is_moe_layer(1));
  EXPECT_TRUE(c.is_moe_layer(3));
}

TEST(ConfigGolden, V3TinyFp8HasBlockScaling) {
  const Config c = load_config(golden_checkpoint("v3-tiny-fp8"));
  EXPECT_EQ(c.family, ModelFamily::DeepSeekV3);
  EXPECT_EQ(c.weight_block_rows, 16);
  EXPECT_EQ(c.weight_block_cols, 16);
  EXPECT_EQ(c.topk_method, TopkMethod::NoauxTc);
  EXPECT_NEAR(c.softmax_scale(), kScaleMscaleOne, 1e-12);
}

TEST(ConfigGolden, V2Tiny) {
  const Config c = load_config(golden_checkpoint("v2-tiny"));
  EXPECT_EQ(c.family, ModelFamily::DeepSeekV2);
  EXPECT_EQ(c.family_name(), "DeepSeek-V2");
  EXPECT_EQ(c.q_lora_rank, 32);
  EXPECT_EQ(c.n_routed_experts, 16);
  EXPECT_EQ(c.n_shared_experts, 2);
  EXPECT_EQ(c.topk_method, TopkMethod::GroupLimitedGreedy);
  EXPECT_EQ(to_string(c.topk_method), "group_limited_greedy");
  EXPECT_EQ(c.scoring_func, ScoringFunc::Softmax);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_EQ(c.routed_scaling_factor, 16.0);
  EXPECT_EQ(c.num_nextn_predict_layers, 0);
  EXPECT_NEAR(c.softmax_scale(), kScaleMscaleOne, 1e-12);
}

TEST(ConfigGolden, V2LiteTiny) {
  const Config c = load_config(golden_checkpoint("v2-lite-tiny"));
  EXPECT_EQ(c.family, ModelFamily::DeepSeekV2);
  EXPECT_EQ(c.q_lora_rank, 0);  // null in config.json: no query compression
  EXPECT_EQ(c.n_routed_experts, 8);
  EXPECT_EQ(c.n_shared_experts, 2);
  EXPECT_EQ(c.num_experts_per_tok, 3);
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.topk_group, 1);
  EXPECT_EQ(c.topk_method, TopkMethod::Greedy);
  EXPECT_EQ(to_string(c.topk_method), "greedy");
  EXPECT_EQ(c.scoring_func, ScoringFunc::Softmax);
  EXPECT_EQ(to_string(c.scoring_func), "softmax");
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_EQ(c.routed_scaling_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Yarn);
  EXPECT_EQ(c.rope_scaling.mscale, 0.707);
  EXPECT_EQ(c.rope_scaling.mscale_all_dim, 0.707);
  EXPECT_NEAR(c.softmax_scale(), kScaleMscale0707, 1e-12);
}

TEST(ConfigGolden, LoadingAFolderWithoutConfigFailsNamingIt) {
  const std::string dir = test::make_temp_dir();
  EXPECT_TRUE(test::throws_error_mentioning([&] { load_config(dir); }, {dir, "config.json"}));
}

// ---- Softmax scale ------------------------------------------------------------------

TEST(ConfigSoftmaxScale, RealDeepSeekV3) {
  // The shapes and YaRN settings of DeepSeek-V3's published config.json.
  const Config c = parse_config(R"({
    "architectures": ["DeepseekV3ForCausalLM"],
    "vocab_size": 129280, "hidden_size": 7168, "intermediate_size": 18432,
    "moe_intermediate_size": 2048, "num_hidden_layers": 61, "first_k_dense_replace": 3,
    "num_attention_heads": 128, "q_lora_rank": 1536, "kv_lora_rank": 512,
    "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
    "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
    "n_group": 8, "topk_group": 4, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
    "norm_topk_prob": true, "routed_scaling_factor": 2.5, "num_nextn_predict_layers": 1,
    "max_position_embeddings": 163840, "rope_theta": 10000,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                     "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
                            "quant_method": "fp8", "weight_block_size": [128, 128]}
  })", "deepseek-v3/config.json");
  const double mscale = 0.1 * std::log(40.0) + 1.0;
  const double expected = std::pow(192.0, -0.5) * mscale * mscale;
  EXPECT_NEAR(c.softmax_scale(), expected, 1e-12);
  EXPECT_NEAR(c.softmax_scale(), 0.13523, 1e-5);
  EXPECT_EQ(c.weight_block_rows, 128);
  EXPECT_EQ(c.n_routed_experts, 256);
  EXPECT_FALSE(c.is_moe_layer(2));
  EXPECT_TRUE(c.is_moe_layer(3));
}

TEST(ConfigSoftmaxScale, WithoutYarnIsTheInverseSquareRootOfTheHeadDim) {
  const Config plain = parse_edited([](json& j) { j.erase("rope_scaling"); });
  EXPECT_EQ(plain.rope_scaling.type, RopeScalingType::None);
  EXPECT_NEAR(plain.softmax_scale(), 1.0 / std::sqrt(24.0), 1e-15);

  // mscale_all_dim 0 (the official default) means no correction either.
  const Config no_correction = parse_edited([](json& j) { j["rope_scaling"].erase("mscale_all_dim"); });
  EXPECT_EQ(no_correction.rope_scaling.type, RopeScalingType::Yarn);
  EXPECT_NEAR(no_correction.softmax_scale(), 1.0 / std::sqrt(24.0), 1e-15);

  const Config linear = parse_edited([](json& j) {
    j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  });
  EXPECT_EQ(linear.rope_scaling.type, RopeScalingType::Linear);
  EXPECT_EQ(linear.rope_scaling.factor, 2.0);
  EXPECT_NEAR(linear.softmax_scale(), 1.0 / std::sqrt(24.0), 1e-15);
}

// ---- Defaults ------------------------------------------------------------------------

TEST(ConfigDefaults, NullQLoraRankMeansNoQueryCompression) {
  EXPECT_EQ(parse_edited([](json& j) { j["q_lora_rank"] = nullptr; }).q_lora_rank, 0);
  EXPECT_EQ(parse_edited([](json& j) { j.erase("q_lora_rank"); }).q_lora_rank, 0);
}

TEST(ConfigDefaults, AbsentRoutedExpertsMeansADenseModel) {
  const Config c = parse_edited([](json& j) {
    for (const char* key : {"n_routed_experts", "moe_intermediate_size", "num_experts_per_tok"})
      j.erase(key);
  });
  EXPECT_EQ(c.n_routed_experts, 0);
  for (int layer = 0; layer < c.num_hidden_layers; ++layer)
    EXPECT_FALSE(c.is_moe_layer(layer)) << "layer " << layer;
  EXPECT_EQ(parse_edited([](json& j) { j["n_routed_experts"] = nullptr; }).n_routed_experts, 0);
}

TEST(ConfigDefaults, DenseModelNeedsADenseWidth) {
  EXPECT_TRUE(edit_is_rejected(
      [](json& j) {
        j.erase("n_routed_experts");
        j.erase("intermediate_size");
      },
      {"intermediate_size"}));
}

TEST(ConfigDefaults, TransformersSpellingsAreAccepted) {
  // "gready" is transformers' misspelt DeepseekV2Config default; newer
  // versions write "rope_type" instead of "type".
  EXPECT_EQ(parse_edited([](json& j) {
              j["topk_method"] = "gready";
              j["n_group"] = 1;
              j["topk_group"] = 1;
            }).topk_method,
            TopkMethod::Greedy);
  const Config c = parse_edited([](json& j) {
    j["rope_scaling"].erase("type");
    j["rope_scaling"]["rope_type"] = "yarn";
  });
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Yarn);
  EXPECT_NEAR(c.softmax_scale(), kScaleMscaleOne, 1e-12);
}

// ---- Rejections ---------------------------------------------------------------------

TEST(ConfigErrors, MissingHiddenSize) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j.erase("hidden_size"); }, {"\"hidden_size\"", "missing"}));
}

TEST(ConfigErrors, TopkGroupAboveNGroup) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["topk_group"] = 5; }, {"\"topk_group\"", "n_group"}));
}

TEST(ConfigErrors, UnsupportedArchitecture) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["architectures"] = json::array({"LlamaForCausalLM"}); },
                               {"\"architectures\"", "LlamaForCausalLM"}));
  EXPECT_TRUE(edit_is_rejected([](json& j) { j.erase("architectures"); }, {"\"architectures\""}));
}

TEST(ConfigErrors, MoreExpertsPerTokenThanExperts) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["num_experts_per_tok"] = 17; },
                               {"\"num_experts_per_tok\"", "17", "n_routed_experts"}));
}

TEST(ConfigErrors, NGroupMustDivideTheExperts) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["n_group"] = 3; }, {"\"n_group\"", "divide"}));
}

TEST(ConfigErrors, HiddenSizeMustBePositive) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["hidden_size"] = -64; }, {"\"hidden_size\"", "positive", "-64"}));
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["hidden_size"] = 0; }, {"\"hidden_size\"", "positive"}));
}

TEST(ConfigErrors, StringWhereANumberBelongs) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["hidden_size"] = "64"; }, {"\"hidden_size\"", "integer"}));
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["routed_scaling_factor"] = "2.5"; },
                               {"\"routed_scaling_factor\"", "number"}));
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["hidden_size"] = 64.5; }, {"\"hidden_size\"", "integer"}));
}

TEST(ConfigErrors, OddRopeHeadDim) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["qk_rope_head_dim"] = 7; }, {"\"qk_rope_head_dim\"", "even"}));
}

TEST(ConfigErrors, UnknownTopkMethod) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["topk_method"] = "top_p"; }, {"\"topk_method\"", "top_p"}));
}

TEST(ConfigErrors, UnknownScoringFunc) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["scoring_func"] = "tanh"; }, {"\"scoring_func\"", "tanh"}));
}

TEST(ConfigErrors, UnsupportedRopeScaling) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["rope_scaling"]["type"] = "dynamic"; },
                               {"\"rope_scaling.type\"", "dynamic"}));
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["rope_scaling"].erase("factor"); },
                               {"\"rope_scaling.factor\"", "missing"}));
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["rope_scaling"] = 4; }, {"\"rope_scaling\""}));
}

TEST(ConfigErrors, BadWeightBlockSize) {
  const json fp8_quantization = golden_config_json("v3-tiny-fp8")["quantization_config"];
  for (const json& bad_block : {json::array({16}), json::array({0, 16}), json::array({16, -1}),
                                json("16x16"), json::array({16.5, 16})}) {
    EXPECT_TRUE(edit_is_rejected(
        [&](json& j) {
          j["quantization_config"] = fp8_quantization;
          j["quantization_config"]["weight_block_size"] = bad_block;
        },
        {"\"quantization_config.weight_block_size\""}))
        << "weight_block_size " << bad_block.dump();
  }
  EXPECT_TRUE(edit_is_rejected(
      [&](json& j) {
        j["quantization_config"] = fp8_quantization;
        j["quantization_config"].erase("weight_block_size");
      },
      {"\"quantization_config.weight_block_size\""}));
}

TEST(ConfigErrors, UnsupportedQuantization) {
  EXPECT_TRUE(edit_is_rejected([](json& j) { j["quantization_config"] = {{"quant_method", "gptq"}}; },
                               {"\"quantization_config.quant_method\"", "gptq"}));
}

TEST(ConfigErrors, InvalidJson) {
  EXPECT_TRUE(test::throws_error_mentioning([] { parse_config(R"({"hidden_size": 64,)", kSource); },
                                      {kSource, "not valid JSON"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { parse_config("[1, 2]", kSource); },
                                      {kSource, "not a JSON object"}));
}

}  // namespace
}  // namespace frugal
