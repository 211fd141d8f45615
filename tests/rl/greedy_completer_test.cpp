// The greedy completer on a tiny random model with the DeepSeek-V3
// tokenizer: it stops at the stop marker and keeps it, counts the tokens up
// to the one that completed it, and matches plain greedy generation.
#include <gtest/gtest.h>

#include <string>

#include "frugal/core/error.h"
#include "frugal/generate/generator.h"
#include "frugal/rl/evaluate.h"
#include "frugal/rl/greedy_completer.h"
#include "frugal/rl/task_registry.h"
#include "support/test_support.h"
#include "support/tokenizer.h"

namespace frugal::rl {
namespace {

const std::string& tiny_model_dir() {
  static const std::string dir = [] {
    const std::string out = test::make_temp_dir() + "/model";
    const auto result = test::run_frugal("init --preset tiny --seed 3 --tokenizer '" + test::deepseek_tokenizer_dir() +
                                         "' --out '" + out + "'");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return out;
  }();
  return dir;
}

// Plain greedy generation with no stop but the end token.
GenerationResult free_run(const Model& model, const Tokenizer& tokenizer, const std::string& prompt, int64_t n) {
  std::vector<int32_t> ids = tokenizer.encode(prompt);
  ids.insert(ids.begin(), *tokenizer.bos_id());
  Session session(model, static_cast<int64_t>(ids.size()) + n);
  GenerationOptions options;
  options.sampling.temperature = 0.0f;
  options.max_new_tokens = n;
  options.stop_tokens = {*tokenizer.eos_id()};
  return generate(session, ids, options, &tokenizer);
}

TEST(GreedyCompleter, StopsAtTheMarkerAndKeepsIt) {
  const Tokenizer& tokenizer = test::deepseek_tokenizer();
  const Model model(tiny_model_dir());
  const std::string prompt = "Compute 12 + 34\n";
  const GenerationResult free = free_run(model, tokenizer, prompt, 24);
  ASSERT_EQ(free.tokens.size(), 24u) << "the random model ended early; pick another seed";
  ASSERT_GE(free.text.size(), 6u);

  // A marker taken from the middle of what the model says anyway: two whole
  // characters (the text is UTF-8, the marker must not split one).
  auto is_continuation = [&](std::size_t i) { return (static_cast<unsigned char>(free.text[i]) & 0xC0) == 0x80; };
  std::size_t start = free.text.size() / 2, end = start;
  while (start > 0 && is_continuation(start)) --start;
  for (int chars = 0; chars < 2 && end < free.text.size(); ++chars)
    for (++end; end < free.text.size() && is_continuation(end);) ++end;
  const std::string marker = free.text.substr(start, end - start);
  ASSERT_FALSE(marker.empty());
  const std::size_t at = free.text.find(marker);
  GreedyCompleter completer(model, tokenizer, 24, marker);
  const Completion c = completer.complete_one(prompt);
  EXPECT_EQ(c.text, free.text.substr(0, at + marker.size()));
  EXPECT_EQ(c.stop_reason, "stop_string");
  // Its tokens are the free run's up to the one that completed the marker.
  const std::vector<int32_t> upto(free.tokens.begin(), free.tokens.begin() + c.tokens);
  EXPECT_NE(tokenizer.decode(upto).find(marker), std::string::npos);
  const std::vector<int32_t> before(free.tokens.begin(), free.tokens.begin() + c.tokens - 1);
  EXPECT_EQ(tokenizer.decode(before).find(marker), std::string::npos);

  // Without the marker in sight it runs to the limit, text untouched.
  GreedyCompleter plain(model, tokenizer, 24);
  const std::vector<Completion> both = plain.complete({prompt, prompt});
  ASSERT_EQ(both.size(), 2u);
  if (free.text.find("</answer>") == std::string::npos) {
    EXPECT_EQ(both[0].text, free.text);
    EXPECT_EQ(both[0].tokens, 24);
    EXPECT_EQ(both[0].stop_reason, "max_tokens");
  }
  EXPECT_EQ(both[1].text, both[0].text);  // the reused session changes nothing
}

TEST(GreedyCompleter, CompletionPutsBackOnlyTheStopMarker) {
  GenerationResult r;
  r.text = "<think> 1 </think> <answer> 2 ";
  r.tokens = {5, 6, 7};
  r.stop_reason = StopReason::StopString;
  EXPECT_EQ(completion_from(r, "</answer>").text, "<think> 1 </think> <answer> 2 </answer>");
  EXPECT_EQ(completion_from(r, "</answer>").tokens, 3);
  r.stop_reason = StopReason::EndToken;
  EXPECT_EQ(completion_from(r, "</answer>").text, "<think> 1 </think> <answer> 2 ");
  EXPECT_EQ(completion_from(r, "</answer>").stop_reason, "end_token");
}

TEST(GreedyCompleter, RejectsPromptsItCannotRun) {
  const Model model(tiny_model_dir());
  EXPECT_THROW(GreedyCompleter(model, test::deepseek_tokenizer(), 0), Error);
  GreedyCompleter completer(model, test::deepseek_tokenizer(), 4);
  std::string huge;
  for (int i = 0; i < 5000; ++i) huge += " word";
  EXPECT_TRUE(test::throws_error_mentioning([&] { completer.complete_one(huge); }, {"tokens", "context of 4096"}));
}

TEST(Evaluate, CountsAndRatesAreConsistent) {
  const Model model(tiny_model_dir());
  GreedyCompleter completer(model, test::deepseek_tokenizer(), 6);
  const auto task = make_task("add", {.min_digits = 1, .max_digits = 2});
  std::vector<Problem> problems;
  for (uint64_t i = 0; i < 5; ++i) problems.push_back(task->make(1, i));
  std::vector<std::size_t> progress;
  EvaluationOptions options;
  options.batch_size = 2;
  options.progress = [&](std::size_t done, std::size_t total) {
    EXPECT_EQ(total, 5u);
    progress.push_back(done);
  };
  const Evaluation e = evaluate(problems, *task, completer, options);
  EXPECT_EQ(progress, (std::vector<std::size_t>{2, 4, 5}));
  EXPECT_EQ(e.n, 5);
  ASSERT_EQ(e.outcomes.size(), 5u);
  int64_t tokens = 0;
  for (const ProblemOutcome& o : e.outcomes) {
    EXPECT_LE(o.completion.tokens, 6);
    tokens += o.completion.tokens;
  }
  EXPECT_DOUBLE_EQ(e.mean_completion_tokens, tokens / 5.0);
  EXPECT_DOUBLE_EQ(e.accuracy, e.correct / 5.0);
  EXPECT_DOUBLE_EQ(e.format_rate, e.well_formed / 5.0);
  EXPECT_LE(e.accuracy_ci95.lo, e.accuracy);
  EXPECT_GE(e.accuracy_ci95.hi, e.accuracy);
  EXPECT_THROW(evaluate({}, *task, completer), Error);
}

}  // namespace
}  // namespace frugal::rl
