// `frugal bench --json` reports the documented fields with sane values.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/golden.h"

namespace frugal {
namespace {

TEST(BenchCli, ReportsSpeedsFloorsAndDepths) {
  const auto result = test::run_frugal("bench --model '" + test::golden_dir("v2-tiny") +
                                       "/checkpoint' --prompt 16 --gen 8 --depth 0,32 --threads 2 --repeats 3 "
                                       "--weights q4 --kv-cache q8 --warmup 0 --json",
                                       /*stderr_too=*/false);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto out = nlohmann::json::parse(result.output);
  for (const char* field : {"decode_tokens_per_s", "prefill_tokens_per_s", "decode_floor_tokens_per_s",
                            "decode_percent_of_floor", "bandwidth_bytes_per_s", "weight_bytes_per_token",
                            "peak_rss_bytes"})
    EXPECT_GT(out[field].get<double>(), 0.0) << field;
  ASSERT_EQ(out["depths"].size(), 2u);
  EXPECT_EQ(out["depths"][1]["depth"].get<int>(), 32);
  EXPECT_EQ(out["decode_tokens_per_s"], out["depths"][0]["decode_tokens_per_s"]);
  // The floor at depth 32 reads more cache bytes than at depth 0.
  EXPECT_GT(out["depths"][1]["kv_bytes_read_per_token"].get<double>(),
            out["depths"][0]["kv_bytes_read_per_token"].get<double>());
  const double percent = out["decode_percent_of_floor"].get<double>();
  EXPECT_NEAR(percent, 100.0 * out["decode_tokens_per_s"].get<double>() / out["decode_floor_tokens_per_s"].get<double>(),
              1e-6 * percent);
  EXPECT_EQ(out["threads"].get<int>(), 2);
  EXPECT_EQ(out["repeats"].get<int>(), 3);
  EXPECT_EQ(out["warmup_runs"].get<int>(), 0);
  EXPECT_EQ(out["weights"], "q4");
  EXPECT_EQ(out["kv_cache"], "q8");
}

TEST(BenchCli, WarmsUpUntimedBeforeMeasuring) {
  const auto result = test::run_frugal("bench --model '" + test::golden_dir("v2-tiny") +
                                       "/checkpoint' --prompt 8 --gen 2 --threads 1 --warmup 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::size_t warmups = 0;
  for (std::size_t at = result.output.find("warming up"); at != std::string::npos;
       at = result.output.find("warming up", at + 1))
    ++warmups;
  EXPECT_EQ(warmups, 2u) << result.output;
  // The warm-up decodes no more than --gen tokens (the context holds prompt + gen).
  EXPECT_NE(result.output.find("decode 2)"), std::string::npos) << result.output;
}

TEST(BenchCli, RepeatsTakeTheDepthsInTurn) {
  const auto result = test::run_frugal("bench --model '" + test::golden_dir("v2-tiny") +
                                       "/checkpoint' --prompt 4 --gen 2 --depth 0,32 --repeats 2 --threads 1 "
                                       "--warmup 0");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::vector<std::string> order;
  for (std::size_t at = result.output.find("depth "); at != std::string::npos;
       at = result.output.find("depth ", at + 1)) {
    const std::size_t colon = result.output.find(':', at);
    if (colon != std::string::npos && colon - at < 12) order.push_back(result.output.substr(at, colon - at));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"depth 0", "depth 32", "depth 0", "depth 32"})) << result.output;
}

TEST(BenchCli, RejectsDepthsBeyondTheModelsContext) {
  const auto result = test::run_frugal("bench --model '" + test::golden_dir("v2-tiny") + "/checkpoint' --depth 300");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("max_position_embeddings"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace frugal
