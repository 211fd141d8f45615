// `frugal inspect --json` on the goldens: parameter counts against counts
// from the config's equations and from the checkpoint's tensor shapes, and
// the KV cache bytes per token.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frugal/io/checkpoint.h"
#include "frugal/model/config.h"
#include "support/golden.h"

namespace frugal {
namespace {

struct Expected {
  int64_t main = 0, mtp = 0, routed = 0, active = 0;
};

// Parameter counts written out from spec section 2.3, independent of the
// code under test.
Expected count_from_config(const Config& c) {
  const int64_t D = c.hidden_size, H = c.num_attention_heads, V = c.vocab_size;
  const int64_t r = c.kv_lora_rank, dr = c.qk_rope_head_dim, qk = c.qk_head_dim();
  const int64_t attention =
      (c.q_lora_rank > 0 ? c.q_lora_rank * D + c.q_lora_rank + H * qk * c.q_lora_rank : H * qk * D) +
      (r + dr) * D + r + H * (c.qk_nope_head_dim + c.v_head_dim) * r + D * H * c.v_head_dim;
  const int64_t expert = 3 * c.moe_intermediate_size * D;
  const int64_t E = c.n_routed_experts;
  const int64_t router = E * D + (c.topk_method == TopkMethod::NoauxTc ? E : 0);
  const int64_t shared = c.n_shared_experts * expert;
  const int64_t moe_layer = 2 * D + attention + router + E * expert + shared;
  const int64_t dense_layer = 2 * D + attention + 3 * c.intermediate_size * D;
  const int64_t dense_layers = c.first_k_dense_replace, moe_layers = c.num_hidden_layers - dense_layers;

  Expected e;
  e.main = 2 * V * D + D + dense_layers * dense_layer + moe_layers * moe_layer;
  e.routed = moe_layers * E * expert;
  e.active = e.main - e.routed + moe_layers * c.num_experts_per_tok * expert;
  e.mtp = c.num_nextn_predict_layers * (2 * D + 2 * D * D + moe_layer + D);
  return e;
}

// Sum of tensor elements, leaving out FP8 scales and the MTP modules' copies
// of the embedding and head.
int64_t count_from_shapes(const Checkpoint& checkpoint) {
  int64_t total = 0;
  for (const TensorView* t : checkpoint.all_tensors()) {
    const std::string& n = t->name;
    const bool scale = n.find("weight_scale_inv") != std::string::npos;
    const bool mtp_copy = n.find("model.layers.") == 0 && (n.find(".embed_tokens.") != std::string::npos ||
                                                           n.find(".shared_head.head.") != std::string::npos);
    if (!scale && !mtp_copy) total += t->numel();
  }
  return total;
}

class InspectCliTest : public testing::TestWithParam<test::GoldenVariant> {};

TEST_P(InspectCliTest, CountsParametersAndCacheBytes) {
  const std::string dir = test::golden_dir(GetParam().name) + "/checkpoint";
  const auto result = test::run_frugal("inspect --json --model '" + dir + "'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto out = nlohmann::json::parse(result.output);
  const Config c = load_config(dir);
  const Expected e = count_from_config(c);

  EXPECT_EQ(out["parameters_main"].get<int64_t>(), e.main);
  EXPECT_EQ(out["parameters_mtp"].get<int64_t>(), e.mtp);
  EXPECT_EQ(out["parameters_routed_experts"].get<int64_t>(), e.routed);
  EXPECT_EQ(out["parameters_active_per_token"].get<int64_t>(), e.active);
  EXPECT_EQ(out["parameters_total"].get<int64_t>(), count_from_shapes(Checkpoint(dir)));
  EXPECT_EQ(out["parameters_total"].get<int64_t>(), e.main + e.mtp);

  const int64_t L = c.num_hidden_layers;
  EXPECT_EQ(out["kv_cache_values_per_token"].get<int64_t>(), L * (32 + 8));
  EXPECT_EQ(out["kv_cache_bytes_per_token"].get<int64_t>(), L * (32 + 8) * 4);
  EXPECT_EQ(out["kv_cache_bytes_per_token_bf16"].get<int64_t>(), L * (32 + 8) * 2);
  // q8: codes of 32 latent and 8 rope values, one float scale for each part
  EXPECT_EQ(out["kv_cache_bytes_per_token_q8"].get<int64_t>(), L * (32 + 8 + 4 + 4));
  EXPECT_EQ(out["mha_cache_bytes_per_token_bf16"].get<int64_t>(), L * 4 * (16 + 8 + 16) * 2);
  EXPECT_EQ(out["family"].get<std::string>(), c.family_name());

  // The V2 goldens are all BF16 with no correction bias: a decoded token reads
  // every active parameter except the embedding table, of which one row.
  if (c.family == ModelFamily::DeepSeekV2) {
    EXPECT_EQ(out["weight_bytes_per_token"].get<int64_t>(),
              2 * (e.active - c.vocab_size * c.hidden_size + c.hidden_size));
  }
}

INSTANTIATE_TEST_SUITE_P(AllVariants, InspectCliTest, testing::ValuesIn(test::golden_variants()),
                         [](const testing::TestParamInfo<test::GoldenVariant>& info) {
                           std::string name = info.param.name;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

TEST(InspectCliTest, HumanOutputNamesFamilyAndCacheSizes) {
  const auto result = test::run_frugal("inspect --model '" + test::golden_dir("v3-tiny-fp8") + "/checkpoint'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("DeepSeek-V3"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("FP8"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("plain multi-head cache"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace frugal
