// Drives the `frugal logits` binary on every golden variant, in prefill and
// in token-by-token decode, and checks the written tensors against the
// goldens with the MANIFEST tolerances.
#include <gtest/gtest.h>

#include <filesystem>

#include "frugal/io/safetensors.h"
#include "support/golden.h"
#include "support/golden_compare.h"

namespace frugal {
namespace {

struct CliCase {
  test::GoldenVariant variant;
  bool decode;
};

class LogitsCliTest : public testing::TestWithParam<CliCase> {};

TEST_P(LogitsCliTest, WritesReferenceLogits) {
  const auto& [variant, decode] = GetParam();
  const std::string dir = test::golden_dir(variant.name);
  const std::string out = test::make_temp_dir() + "/out.safetensors";
  const auto result = test::run_frugal("logits --model '" + dir + "/checkpoint' --inputs '" + dir +
                                       "/inputs.json' --out '" + out + "' --threads 2" +
                                       (decode ? " --decode" : ""));
  ASSERT_EQ(result.exit_code, 0) << result.output;

  const SafetensorsFile written(out);
  const SafetensorsFile golden(dir + "/golden.safetensors");
  const auto sequences = test::golden_sequences(variant.name);
  const bool has_mtp = variant.mtp_logits_abs > 0;
  EXPECT_EQ(written.tensors().size(), sequences.size() * (has_mtp ? 2 : 1));
  for (std::size_t n = 0; n < sequences.size(); ++n) {
    const std::string seq = ".seq" + std::to_string(n);
    const TensorView& logits = written.get("logits" + seq);
    EXPECT_EQ(logits.dtype, DType::F32);
    EXPECT_EQ(logits.shape, (std::vector<int64_t>{static_cast<int64_t>(sequences[n].size()), 512}));
    test::expect_close_abs(golden.get("logits" + seq), logits.to_f32(), variant.logits_abs);
    if (has_mtp)
      test::expect_close_abs(golden.get("mtp1_logits" + seq), written.get("mtp1_logits" + seq).to_f32(),
                             variant.mtp_logits_abs);
  }
}

std::vector<CliCase> cli_cases() {
  std::vector<CliCase> cases;
  for (const auto& variant : test::golden_variants())
    for (bool decode : {false, true}) cases.push_back({variant, decode});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllVariants, LogitsCliTest, testing::ValuesIn(cli_cases()),
                         [](const testing::TestParamInfo<CliCase>& info) {
                           std::string name = info.param.variant.name + (info.param.decode ? "_decode" : "_prefill");
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(LogitsCliTest, TraceWritesHiddenStatesAndRoutingUnderGoldenNames) {
  const std::string dir = test::golden_dir("v3-tiny");
  const std::string out = test::make_temp_dir() + "/trace.safetensors";
  const auto result = test::run_frugal("logits --model '" + dir + "/checkpoint' --inputs '" + dir +
                                       "/inputs.json' --out '" + out + "' --trace");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const SafetensorsFile written(out);
  const SafetensorsFile golden(dir + "/golden.safetensors");
  const auto& v = test::golden_variants()[0];
  for (const char* name : {"hidden.seq0.layer2", "hidden.seq0.final_norm", "mtp1_hidden.seq0"})
    test::expect_close_rel(golden.get(name), written.get(name).to_f32(), v.hidden_rel);
  for (const char* layer : {"routing.seq1.layer3", "routing.seq1.layer4"}) {
    const std::string base = layer;
    const auto& ids = written.get(base + ".ids");
    EXPECT_EQ(ids.dtype, DType::I32);
    test::expect_same_routing(golden.get(base + ".ids"), golden.get(base + ".weights"), test::ints_of(ids),
                              written.get(base + ".weights").to_f32(), v.routing_weight_abs);
  }
}

}  // namespace
}  // namespace frugal
