// frugal problems, sft and grpo end to end on a tiny model with its own
// tokenizer (with <think> <answer> tokens): GRPO runs, logs every field,
// evaluates at the start and the end, and --resume continues exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frugal/io/checkpoint.h"
#include "support/test_support.h"

namespace frugal {
namespace {

using json = nlohmann::json;

std::vector<json> log_records(const std::string& run) {
  std::vector<json> records;
  std::istringstream lines(read_text_file(run + "/train_log.jsonl"));
  for (std::string line; std::getline(lines, line);) records.push_back(json::parse(line));
  return records;
}

class GrpoCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(test::make_temp_dir());
    const std::string& r = *root_;
    auto run = [](const std::string& args) {
      const test::CommandResult result = test::run_frugal(args);
      ASSERT_EQ(result.exit_code, 0) << args << "\n" << result.output;
    };
    run("problems --task add --digits 1 --n 400 --seed 1 --sft compact --out " + r + "/sft.jsonl");
    run("train-tokenizer --vocab 280 --input " + r + "/sft.jsonl --special '<think>' --special '</think>'"
        " --special '<answer>' --special '</answer>' --out " + r + "/tok");
    json config = json::parse(read_text_file(FRUGAL_SOURCE_DIR "/tests/data/golden/v3-tiny/checkpoint/config.json"));
    config["hidden_size"] = 32;
    config["num_hidden_layers"] = 2;
    config["vocab_size"] = 280;
    test::write_bytes(r + "/config.json", config.dump());
    run("init --config " + r + "/config.json --tokenizer " + r + "/tok --dtype f32 --seed 1 --out " + r + "/init");
    run("sft --model " + r + "/init --examples " + r + "/sft.jsonl --out " + r + "/sft --steps 40 --batch 16"
        " --lr 3e-3 --warmup 4 --eval-every 0 --threads 2");
  }
  static void TearDownTestSuite() { delete root_; }
  static std::string grpo_args(const std::string& out) {
    return "grpo --model " + *root_ + "/sft/step-00000040 --task add --digits 1 --out " + out +
           " --steps 6 --prompts 4 --group 4 --max-tokens 24 --lr 1e-4 --beta 0.01 --mu 2 --eval-every 3"
           " --eval-n 20 --save-every 3 --threads 2";
  }
  static std::string* root_;
};
std::string* GrpoCli::root_ = nullptr;

TEST_F(GrpoCli, RunsLogsEvaluatesAndSaves) {
  const std::string out = test::make_temp_dir() + "/grpo";
  const test::CommandResult r = test::run_frugal(grpo_args(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int steps = 0, evals = 0;
  for (const json& record : log_records(out)) {
    if (record.contains("reward")) {
      ++steps;
      for (const char* field : {"accuracy", "format_rate", "completion_tokens", "kl", "clip_fraction", "loss",
                                "rollout_tokens_per_s", "train_tokens_per_s"})
        EXPECT_TRUE(record.contains(field)) << field;
      EXPECT_GE(record["reward"].get<double>(), 0.0);
      EXPECT_LE(record["accuracy"].get<double>(), 1.0);
      EXPECT_GE(record["kl"].get<double>(), 0.0) << "k3 is never negative";
    }
    if (record.contains("eval_accuracy")) ++evals;
  }
  EXPECT_EQ(steps, 6);
  EXPECT_EQ(evals, 3);  // start, step 3, step 6
  EXPECT_EQ(read_text_file(out + "/latest"), "step-00000006\n");
  EXPECT_NE(read_text_file(out + "/reward.svg").find("<polyline"), std::string::npos);
  const test::CommandResult eval = test::run_frugal("eval --model " + out + "/step-00000006 --task add --n 5 --json");
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
}

TEST_F(GrpoCli, ResumeContinuesExactly) {
  const std::string straight = test::make_temp_dir() + "/a", resumed = test::make_temp_dir() + "/b";
  ASSERT_EQ(test::run_frugal(grpo_args(straight)).exit_code, 0);
  ASSERT_EQ(test::run_frugal(grpo_args(resumed) + " --stop-after 3").exit_code, 0);
  const test::CommandResult r = test::run_frugal("grpo --out " + resumed + " --resume --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto rewards = [](const std::string& run) {
    std::map<int64_t, std::pair<double, double>> out;
    for (const json& record : log_records(run))
      if (record.contains("reward")) out[record["step"]] = {record["reward"], record["loss"]};
    return out;
  };
  EXPECT_EQ(rewards(resumed), rewards(straight));
  EXPECT_TRUE(test::read_bytes(resumed + "/step-00000006/model.safetensors") ==
              test::read_bytes(straight + "/step-00000006/model.safetensors"));
}

TEST_F(GrpoCli, BadSettingsAreClearErrors) {
  const std::string out = test::make_temp_dir();
  const test::CommandResult no_task =
      test::run_frugal("grpo --model " + *root_ + "/sft/step-00000040 --out " + out + "/x");
  EXPECT_EQ(no_task.exit_code, 1);
  EXPECT_NE(no_task.output.find("--task"), std::string::npos) << no_task.output;
  const test::CommandResult same_seed = test::run_frugal("grpo --model " + *root_ + "/sft/step-00000040 --task add --out " +
                                                         out + "/y --seed 5 --eval-seed 5");
  EXPECT_EQ(same_seed.exit_code, 1);
  EXPECT_NE(same_seed.output.find("--eval-seed"), std::string::npos) << same_seed.output;
  const test::CommandResult missing_exclude = test::run_frugal("grpo --model " + *root_ + "/sft/step-00000040 --task add --out " +
                                                               out + "/z --exclude " + out + "/absent.jsonl");
  EXPECT_EQ(missing_exclude.exit_code, 1);
  EXPECT_NE(missing_exclude.output.find("absent.jsonl"), std::string::npos) << missing_exclude.output;
  // One-digit additions number 100: a held-out set holding them all leaves nothing to train on.
  ASSERT_EQ(test::run_frugal("problems --task add --digits 1 --n 3000 --seed 9 --out " + out + "/all.jsonl").exit_code, 0);
  const test::CommandResult all_held_out =
      test::run_frugal("grpo --model " + *root_ + "/sft/step-00000040 --task add --digits 1 --out " + out +
                       "/w --exclude " + out + "/all.jsonl --steps 1");
  EXPECT_EQ(all_held_out.exit_code, 1);
  EXPECT_NE(all_held_out.output.find("held out"), std::string::npos) << all_held_out.output;
}

}  // namespace
}  // namespace frugal
