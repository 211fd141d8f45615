// frugal train end to end on a tiny model: a tokenizer trained on a small
// generated corpus, prepared data, a random checkpoint; then the loss falls,
// checkpoints load, --resume continues bit for bit, and kill -9 at any
// moment leaves a checkpoint to resume from.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "frugal/io/checkpoint.h"
#include "frugal/train/parameters.h"
#include "support/test_support.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Loss records (step -> total loss) of a run's train_log.jsonl.
std::map<int64_t, double> step_losses(const std::string& run_dir) {
  std::map<int64_t, double> losses;
  std::istringstream lines(read_text_file(run_dir + "/train_log.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const json record = json::parse(line);
    if (record.contains("loss")) losses[record["step"]] = record["loss"];
  }
  return losses;
}

class TrainCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(test::make_temp_dir());
    const std::string& root = *root_;
    std::ostringstream corpus;  // simple sentences with structure a model can learn
    const char* animals[] = {"cat", "dog", "bird", "fish", "horse", "mouse"};
    const char* verbs[] = {"sees", "likes", "chases", "finds"};
    for (int i = 0; i < 600; ++i) {
      corpus << "The " << animals[i % 6] << " " << verbs[(i / 6) % 4] << " the " << animals[(i * 7 + 3) % 6] << ".";
      corpus << (i % 5 == 4 ? "\n\n" : " ");
    }
    test::write_bytes(root + "/corpus.txt", corpus.str());
    auto run = [](const std::string& args) {
      const test::CommandResult r = test::run_frugal(args);
      ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    };
    run("train-tokenizer --vocab 300 --input " + root + "/corpus.txt --out " + root + "/tokenizer");
    run("prepare-data --tokenizer " + root + "/tokenizer --input " + root + "/corpus.txt --out " + root +
        "/data --held-out 0.1 --seed 3");
    json config = json::parse(read_text_file(FRUGAL_SOURCE_DIR "/tests/data/golden/v3-tiny/checkpoint/config.json"));
    config["hidden_size"] = 32;
    config["num_hidden_layers"] = 2;
    config.erase("quantization_config");
    test::write_bytes(root + "/config.json", config.dump());
    run("init --config " + root + "/config.json --tokenizer " + root + "/tokenizer --dtype f32 --seed 1 --out " +
        root + "/model");
  }
  static void TearDownTestSuite() { delete root_; }

  static std::string train_args(const std::string& out, int steps, int save_every = 4) {
    const std::string& root = *root_;
    return "train --model " + root + "/model --data " + root + "/data --out " + out + " --steps " +
           std::to_string(steps) + " --batch 4 --seq 32 --lr 3e-3 --warmup 2 --eval-every 4 --eval-batches 2"
           " --save-every " + std::to_string(save_every) + " --threads 2";
  }

  static std::string* root_;
};
std::string* TrainCli::root_ = nullptr;

TEST_F(TrainCli, LossFallsAndCheckpointsLoad) {
  const std::string out = test::make_temp_dir() + "/run";
  const test::CommandResult r = test::run_frugal(train_args(out, 24));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::map<int64_t, double> losses = step_losses(out);
  ASSERT_EQ(losses.size(), 24u);
  EXPECT_LT(losses.at(24), losses.at(1) - 1.0) << r.output;
  EXPECT_EQ(read_text_file(out + "/latest"), "step-00000024\n");
  EXPECT_FALSE(fs::exists(out + "/step-00000016")) << "only --keep 2 checkpoints stay";
  EXPECT_TRUE(fs::exists(out + "/step-00000020"));
  EXPECT_NE(read_text_file(out + "/loss.svg").find("<polyline"), std::string::npos);
  // The checkpoint is a normal model folder: other commands load it.
  const ParameterStore store = ParameterStore::load(out + "/step-00000024");
  EXPECT_EQ(store.config().hidden_size, 32);
  const test::CommandResult gen = test::run_frugal("generate --model " + out +
                                                   "/step-00000024 --prompt 'The cat' --max-tokens 4 --temperature 0");
  EXPECT_EQ(gen.exit_code, 0) << gen.output;
}

TEST_F(TrainCli, ResumeContinuesExactly) {
  const std::string straight = test::make_temp_dir() + "/straight", resumed = test::make_temp_dir() + "/resumed";
  ASSERT_EQ(test::run_frugal(train_args(straight, 12)).exit_code, 0);
  ASSERT_EQ(test::run_frugal(train_args(resumed, 12) + " --stop-after 8").exit_code, 0);
  EXPECT_EQ(read_text_file(resumed + "/latest"), "step-00000008\n");
  const test::CommandResult r = test::run_frugal("train --out " + resumed + " --resume --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(step_losses(resumed), step_losses(straight));
  EXPECT_TRUE(test::read_bytes(resumed + "/step-00000012/model.safetensors") ==
              test::read_bytes(straight + "/step-00000012/model.safetensors"));
}

TEST_F(TrainCli, RefusesToOverwriteARunWithoutResume) {
  const std::string out = test::make_temp_dir() + "/run";
  ASSERT_EQ(test::run_frugal(train_args(out, 4)).exit_code, 0);
  const test::CommandResult again = test::run_frugal(train_args(out, 4));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
}

TEST_F(TrainCli, KillDashNineLeavesAResumableCheckpoint) {
  const std::string straight = test::make_temp_dir() + "/straight", killed = test::make_temp_dir() + "/killed";
  const std::string args = train_args("%s", 150, 1);
  auto with_out = [&](const std::string& out) { return args.substr(0, args.find("%s")) + out + args.substr(args.find("%s") + 2); };
  const test::CommandResult first = test::run_frugal(with_out(straight));
  ASSERT_EQ(first.exit_code, 0) << with_out(straight) << "\n" << first.output;
  // Kill at a few moments, each once the run has written a checkpoint of
  // its own (polled, not a fixed sleep: a loaded machine starts slowly),
  // then 0, 20 or 40 ms later: the newest complete checkpoint must load.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string latest = killed + "/latest";
    const std::string before = fs::exists(latest) ? read_text_file(latest) : "";
    const std::string command = std::string("'") + FRUGAL_BINARY + "' " + with_out(killed) +
                                (before.empty() ? "" : " --resume") + " > /dev/null 2>&1 & pid=$!; " +
                                "for i in $(seq 400); do [ -e '" + latest + "' ] && [ \"$(cat '" + latest +
                                "')\" != '" + before.substr(0, before.size() - (before.empty() ? 0 : 1)) +
                                "' ] && break; sleep 0.025; done; sleep 0.0" + std::to_string(2 * attempt) +
                                "; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; true";
    ASSERT_EQ(std::system(command.c_str()), 0);
    ASSERT_TRUE(fs::exists(latest)) << "no checkpoint within 10 s of training";
    std::string name = read_text_file(latest);
    EXPECT_NE(name, before) << "attempt " << attempt << " wrote no checkpoint";
    name.pop_back();
    EXPECT_NO_THROW(ParameterStore::load(killed + "/" + name)) << name;
  }
  EXPECT_NE(read_text_file(killed + "/latest"), "step-00000150\n") << "the kills came after the end";
  const test::CommandResult r = test::run_frugal("train --out " + killed + " --resume --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(step_losses(killed), step_losses(straight));
}

}  // namespace
}  // namespace frugal
