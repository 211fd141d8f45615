// The frugal binary on broken inputs: every malformed checkpoint, config or
// inputs file must end in exit status 1 with a one-line error naming the
// culprit -- never a crash, never a partial output file.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/io/safetensors.h"
#include "frugal/model/model.h"
#include "support/golden.h"
#include "support/test_support.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kOProj = "model.layers.1.self_attn.o_proj.weight";
const std::string kNorm1 = "model.layers.1.input_layernorm.weight";
const std::string kNorm2 = "model.layers.2.input_layernorm.weight";

// Single-quotes an argument for /bin/sh.
std::string shell_quote(const std::string& argument) {
  std::string quoted = "'";
  for (char ch : argument) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return quoted + "'";
}

std::string golden_path(const std::string& variant, const std::string& file) {
  return test::data_path("golden/" + variant + "/" + file);
}

struct LogitsRun {
  test::CommandResult result;
  std::string inputs_path;
  std::string out_dir;
  std::string out_path;
};

LogitsRun run_logits(const std::string& model_dir, const std::string& inputs_path) {
  LogitsRun run;
  run.inputs_path = inputs_path;
  run.out_dir = test::make_temp_dir();
  run.out_path = run.out_dir + "/logits.safetensors";
  run.result = test::run_frugal("logits --threads 2 --model " + shell_quote(model_dir) +
                                " --inputs " + shell_quote(inputs_path) + " --out " +
                                shell_quote(run.out_path));
  return run;
}

// A clean failure: status 1 (not a signal), an "error" line naming every one
// of `parts`.
testing::AssertionResult failed_cleanly(const test::CommandResult& result,
                                        const std::vector<std::string>& parts) {
  if (result.crashed) return testing::AssertionFailure() << "crashed; output:\n" << result.output;
  if (result.exit_code != 1)
    return testing::AssertionFailure() << "exit status " << result.exit_code << "; output:\n"
                                       << result.output;
  std::vector<std::string> expected = parts;
  expected.insert(expected.begin(), "error");
  for (const std::string& part : expected)
    if (result.output.find(part) == std::string::npos)
      return testing::AssertionFailure() << "output does not mention \"" << part << "\":\n"
                                         << result.output;
  return testing::AssertionSuccess();
}

// The logits command failed cleanly and wrote nothing, not even a temporary.
testing::AssertionResult logits_failed_cleanly(const LogitsRun& run,
                                               const std::vector<std::string>& parts) {
  testing::AssertionResult clean = failed_cleanly(run.result, parts);
  if (!clean) return clean;
  if (fs::exists(run.out_path)) return testing::AssertionFailure() << "wrote " << run.out_path;
  if (!test::temp_files_in(run.out_dir).empty())
    return testing::AssertionFailure() << "left " << test::temp_files_in(run.out_dir)[0];
  return testing::AssertionSuccess();
}

// Runs logits on a corrupted copy of v2-tiny with its golden inputs.
LogitsRun run_logits_on_corrupted_v2_tiny(const std::function<void(const std::string& dir)>& corrupt,
                                          std::string* model_dir = nullptr) {
  const std::string dir = test::writable_checkpoint_copy("v2-tiny");
  corrupt(dir);
  if (model_dir != nullptr) *model_dir = dir;
  return run_logits(dir, golden_path("v2-tiny", "inputs.json"));
}

// Runs logits on the intact v2-tiny checkpoint with the given inputs.json text.
LogitsRun run_logits_with_inputs(const std::string& inputs_text) {
  const std::string inputs_path = test::make_temp_dir() + "/inputs.json";
  test::write_bytes(inputs_path, inputs_text);
  return run_logits(golden_path("v2-tiny", "checkpoint"), inputs_path);
}

// ---- Success --------------------------------------------------------------------------

TEST(CliLogits, WritesLogitsMatchingTheGoldenAndNoTemporary) {
  const LogitsRun run =
      run_logits(golden_path("v2-tiny", "checkpoint"), golden_path("v2-tiny", "inputs.json"));
  ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
  EXPECT_FALSE(run.result.crashed);

  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(run.out_dir)) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"logits.safetensors"});

  const SafetensorsFile out(run.out_path);
  const SafetensorsFile golden(golden_path("v2-tiny", "golden.safetensors"));
  EXPECT_EQ(out.tensors().size(), 2u);  // v2-tiny has no MTP modules; no --trace
  EXPECT_EQ(out.metadata().at("producer"), "frugal logits");
  const std::vector<int64_t> lengths = {37, 100};
  for (std::size_t seq = 0; seq < lengths.size(); ++seq) {
    const std::string name = "logits.seq" + std::to_string(seq);
    const TensorView& logits = out.get(name);
    ASSERT_EQ(logits.dtype, DType::F32);
    ASSERT_EQ(logits.shape, (std::vector<int64_t>{lengths[seq], 512}));
    // A loose agreement with the float64 reference: the numerics have their
    // own tests; this one proves the command wired the right model and inputs.
    const std::vector<float> ours = logits.to_f32(), reference = golden.get(name).to_f32();
    ASSERT_EQ(ours.size(), reference.size());
    const float scale = test::max_abs(reference.data(), reference.size());
    EXPECT_GT(scale, 0.0f);
    EXPECT_LE(test::max_abs_diff(ours.data(), reference.data(), ours.size()), 1e-3f * scale) << name;
  }
}

// ---- Broken checkpoints -----------------------------------------------------------------

TEST(CliErrors, TruncatedShard) {
  std::string dir;
  const LogitsRun run = run_logits_on_corrupted_v2_tiny(
      [](const std::string& d) {
        const std::string shard = d + "/model.safetensors";
        fs::resize_file(shard, fs::file_size(shard) - 100);
      },
      &dir);
  EXPECT_TRUE(logits_failed_cleanly(run, {dir + "/model.safetensors", "truncated"}));
}

TEST(CliErrors, DataOffsetsPastTheEnd) {
  const LogitsRun run = run_logits_on_corrupted_v2_tiny([](const std::string& d) {
    test::edit_safetensors_header(d + "/model.safetensors", [](json& header, uint64_t data_size) {
      header[kNorm1]["data_offsets"][1] = data_size + 64;
    });
  });
  EXPECT_TRUE(logits_failed_cleanly(run, {"model.safetensors", kNorm1, "past the end"}));
}

TEST(CliErrors, DtypeDisagreesWithTheDataSize) {
  const LogitsRun run = run_logits_on_corrupted_v2_tiny([](const std::string& d) {
    test::edit_safetensors_header(d + "/model.safetensors", [](json& header, uint64_t) {
      ASSERT_EQ(header[kOProj]["dtype"], "BF16");
      header[kOProj]["dtype"] = "F32";
    });
  });
  EXPECT_TRUE(logits_failed_cleanly(run, {"model.safetensors", kOProj, "F32"}));
}

TEST(CliErrors, OverlappingTensors) {
  // Same dtype and shape, so only the overlap is wrong.
  const LogitsRun run = run_logits_on_corrupted_v2_tiny([](const std::string& d) {
    test::edit_safetensors_header(d + "/model.safetensors", [](json& header, uint64_t) {
      ASSERT_EQ(header[kNorm1]["shape"], header[kNorm2]["shape"]);
      header[kNorm2]["data_offsets"] = header[kNorm1]["data_offsets"];
    });
  });
  EXPECT_TRUE(logits_failed_cleanly(run, {"model.safetensors", kNorm1, kNorm2, "overlap"}));
}

TEST(CliErrors, MissingTensor) {
  const LogitsRun run = run_logits_on_corrupted_v2_tiny([](const std::string& d) {
    test::edit_safetensors_header(d + "/model.safetensors",
                            [](json& header, uint64_t) { ASSERT_EQ(header.erase(kOProj), 1u); });
  });
  EXPECT_TRUE(logits_failed_cleanly(run, {kOProj}));
}

TEST(CliErrors, ShardNamedInTheIndexIsMissing) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny");
  fs::remove(dir + "/model-00002-of-00002.safetensors");
  const LogitsRun run = run_logits(dir, golden_path("v3-tiny", "inputs.json"));
  EXPECT_TRUE(logits_failed_cleanly(run, {"model-00002-of-00002.safetensors"}));
}

// ---- Broken config.json ------------------------------------------------------------------

TEST(CliErrors, ConfigMissingAField) {
  std::string dir;
  const LogitsRun run = run_logits_on_corrupted_v2_tiny(
      [](const std::string& d) {
        test::edit_json_file(d + "/config.json", [](json& config) { config.erase("hidden_size"); });
      },
      &dir);
  EXPECT_TRUE(logits_failed_cleanly(run, {dir + "/config.json", "hidden_size"}));
}

TEST(CliErrors, ConfigTopkGroupAboveNGroup) {
  const LogitsRun run = run_logits_on_corrupted_v2_tiny([](const std::string& d) {
    test::edit_json_file(d + "/config.json", [](json& config) { config["topk_group"] = 6; });
  });
  EXPECT_TRUE(logits_failed_cleanly(run, {"config.json", "topk_group", "n_group"}));
}

// ---- Broken inputs.json -------------------------------------------------------------------

// Fails cleanly naming the inputs file and each of `parts`.
testing::AssertionResult inputs_rejected(const std::string& inputs_text,
                                         const std::vector<std::string>& parts) {
  const LogitsRun run = run_logits_with_inputs(inputs_text);
  std::vector<std::string> expected = parts;
  expected.push_back(run.inputs_path);
  return logits_failed_cleanly(run, expected);
}

TEST(CliErrors, InputsNotJson) {
  EXPECT_TRUE(inputs_rejected(R"({"sequences": [[1, 2,)", {"JSON"}));
}

TEST(CliErrors, InputsTokenOutsideTheVocabulary) {
  // Every sequence is checked before any is computed, so the bad id in the
  // second sequence is reported with its place and nothing is written.
  const LogitsRun run = run_logits_with_inputs(R"({"sequences": [[1, 2, 3], [4, 512]]})");
  EXPECT_TRUE(logits_failed_cleanly(run, {run.inputs_path, "sequences[1][1] = 512", "vocabulary of 512"}));
  EXPECT_EQ(run.result.output.find("sequence 1/2"), std::string::npos) << run.result.output;
}

TEST(CliErrors, InputsNegativeToken) {
  EXPECT_TRUE(inputs_rejected(R"({"sequences": [[1, -3]]})", {"sequences[0][1]"}));
}

TEST(CliErrors, InputsWithoutSequences) {
  EXPECT_TRUE(inputs_rejected(R"({"sequences": []})", {"\"sequences\" is empty"}));
  EXPECT_TRUE(inputs_rejected(R"({"sequences": [[4, 5], []]})", {"sequences[1]", "non-empty"}));
  EXPECT_TRUE(inputs_rejected(R"({"tokens": [[4, 5]]})", {"\"sequences\""}));
}

// ---- inspect -----------------------------------------------------------------------------

TEST(CliErrors, InspectOfAMissingFolder) {
  const std::string missing = test::make_temp_dir() + "/no such model";
  const test::CommandResult result = test::run_frugal("inspect --model " + shell_quote(missing));
  EXPECT_TRUE(failed_cleanly(result, {missing}));
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

TEST(CliErrors, MissingOutputFolderIsReportedBeforeAnyWork) {
  const std::string dir = test::golden_dir("v2-tiny");
  const std::string out = test::make_temp_dir() + "/missing/out.safetensors";
  const test::CommandResult result = test::run_frugal("logits --model " + shell_quote(dir + "/checkpoint") +
                                                      " --inputs " + shell_quote(dir + "/inputs.json") +
                                                      " --out " + shell_quote(out));
  EXPECT_TRUE(failed_cleanly(result, {out, "does not exist"}));
  EXPECT_EQ(result.output.find("sequence 1/"), std::string::npos) << result.output;
}

TEST(CliErrors, DecodeReportsTheTruePositionOfABadToken) {
  // Model::forward itself (not just the CLI's up-front check) names the
  // absolute position when decoding one token at a time.
  const Model model(test::golden_dir("v2-tiny") + "/checkpoint");
  KvCache cache = model.new_cache(4);
  const std::vector<int32_t> tokens = {1, 2, 512};
  std::vector<float> logits(512);
  model.forward(&tokens[0], 1, cache, logits.data());
  model.forward(&tokens[1], 1, cache, logits.data());
  EXPECT_TRUE(test::throws_error_mentioning([&] { model.forward(&tokens[2], 1, cache, logits.data()); },
                                            {"token id 512", "position 2"}));
}

}  // namespace
}  // namespace frugal
