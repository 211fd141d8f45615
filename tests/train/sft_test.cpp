// Supervised fine-tuning: examples file parsing, the completion-only loss,
// and `frugal sft` end to end.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "frugal/io/checkpoint.h"
#include "frugal/train/sft_examples.h"
#include "frugal/train/trainable_model.h"
#include "support/golden.h"
#include "support/test_support.h"

namespace frugal {
namespace {

const std::string kTokenizer = FRUGAL_SOURCE_DIR "/assets/tokenizer/deepseek-v3";

TEST(SftExamples, TokenizesPromptThenCompletionWithBosAndEos) {
  const std::string dir = test::make_temp_dir();
  test::write_bytes(dir + "/ex.jsonl", "{\"prompt\": \"2+3=\", \"completion\": \" 5\"}\n\n{\"prompt\": \"\", \"completion\": \"x\"}\n");
  const Tokenizer tokenizer = Tokenizer::load(kTokenizer);
  const std::vector<SftExample> examples = load_sft_examples(dir + "/ex.jsonl", tokenizer, 100);
  ASSERT_EQ(examples.size(), 2u);
  const std::vector<int32_t> prompt = tokenizer.encode("2+3="), completion = tokenizer.encode(" 5");
  std::vector<int32_t> want = {*tokenizer.bos_id()};
  want.insert(want.end(), prompt.begin(), prompt.end());
  want.insert(want.end(), completion.begin(), completion.end());
  want.push_back(*tokenizer.eos_id());
  EXPECT_EQ(examples[0].tokens, want);
  EXPECT_EQ(examples[0].completion_start, static_cast<int64_t>(1 + prompt.size()));
  EXPECT_EQ(examples[1].completion_start, 1);
}

TEST(SftExamples, BadLinesNameFileAndLine) {
  const std::string dir = test::make_temp_dir();
  const Tokenizer tokenizer = Tokenizer::load(kTokenizer);
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"{\"prompt\": \"a\", \"completion\": \"b\"}\n{not json\n", {"ex.jsonl:2", "not valid JSON"}},
      {"{\"prompt\": \"a\"}\n", {"ex.jsonl:1", "completion"}},
      {"{\"prompt\": \"a\", \"completion\": 5}\n", {"ex.jsonl:1"}},
      {"{\"prompt\": \"a\", \"completion\": \"\"}\n", {"ex.jsonl:1", "empty"}},
      {"{\"prompt\": \"a\", \"completion\": \"" + std::string(300, 'z') + " z z z z z z z z z z z z z z z z z z z z z\"}\n",
       {"ex.jsonl:1", "limit of 16"}},
      {"\n\n", {"no examples"}},
  };
  for (const auto& [text, parts] : cases) {
    test::write_bytes(dir + "/ex.jsonl", text);
    EXPECT_TRUE(test::throws_error_mentioning([&] { load_sft_examples(dir + "/ex.jsonl", tokenizer, 16); }, parts))
        << text;
  }
}

TEST(SftExamples, BatchesVisitEveryExampleOncePerEpochInASeededOrder) {
  std::vector<SftExample> examples(10);
  for (int i = 0; i < 10; ++i) examples[i].tokens = {0, i + 10, 1};
  const SftBatches batches(examples, 4);
  std::multiset<int32_t> seen;
  for (int step = 0; step < 5; ++step)
    for (const auto& seq : batches.batch(step, 2).sequences) seen.insert(seq[1]);
  EXPECT_EQ(seen, (std::multiset<int32_t>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
  EXPECT_EQ(batches.batch(3, 2).sequences, SftBatches(examples, 4).batch(3, 2).sequences);
  EXPECT_NE(batches.batch(0, 10).sequences, batches.batch(1, 10).sequences) << "each epoch is reshuffled";
}

// The loss counts exactly the targets from loss_start on, so it equals the
// mean of -log p over those positions, and prompt tokens are not learnt.
TEST(SftLoss, CountsOnlyCompletionTargets) {
  ParameterStore store = ParameterStore::load(test::golden_dir("v3-tiny") + "/checkpoint");
  TrainableModel model(store);
  const std::vector<std::vector<int32_t>> sequences = {{5, 6, 7, 8, 9, 10}, {11, 12, 13, 14}};
  const std::vector<int64_t> starts = {4, 1};
  LossOptions options;
  options.mtp_weight = 0.0;
  const std::span<const float> log_probs = model.forward(sequences, {false, 1e-4});
  const double want = -(log_probs[3] + log_probs[4] + log_probs[6] + log_probs[7] + log_probs[8]) / 5.0;
  const StepLosses losses = model.evaluate(sequences, options, starts);
  EXPECT_EQ(losses.ce_tokens, 5);
  EXPECT_NEAR(losses.ce, want, 1e-6);
  const StepLosses full = model.evaluate(sequences, options);
  EXPECT_EQ(full.ce_tokens, 8);
}

TEST(SftCli, FineTunesOnExamplesAndTheLossFalls) {
  const std::string dir = test::make_temp_dir();
  std::ostringstream examples;
  for (int i = 0; i < 40; ++i)
    examples << nlohmann::json{{"prompt", std::to_string(i) + "+1="}, {"completion", " " + std::to_string(i + 1)}}.dump()
             << "\n";
  test::write_bytes(dir + "/ex.jsonl", examples.str());
  // A small tokenizer keeps the output head small (the DeepSeek one has 129k tokens).
  ASSERT_EQ(test::run_frugal("train-tokenizer --vocab 300 --input " + dir + "/ex.jsonl --out " + dir + "/tok").exit_code, 0);
  ASSERT_EQ(test::run_frugal("init --preset tiny --tokenizer " + dir + "/tok --dtype f32 --seed 2 --out " + dir +
                             "/model").exit_code, 0);
  const test::CommandResult r =
      test::run_frugal("sft --model " + dir + "/model --examples " + dir + "/ex.jsonl --out " + dir +
                       "/sft --steps 30 --batch 8 --lr 3e-3 --warmup 3 --eval-every 10 --eval-batches 1 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(read_text_file(dir + "/sft/train_log.jsonl"));
  std::vector<double> losses;
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json record = nlohmann::json::parse(line);
    if (record.contains("loss")) losses.push_back(record["loss"]);
  }
  ASSERT_EQ(losses.size(), 30u);
  EXPECT_LT(losses.back(), losses.front() - 2.0);
  EXPECT_TRUE(std::filesystem::exists(dir + "/sft/step-00000030/tokenizer.json"));
}

}  // namespace
}  // namespace frugal
