// frugal problems: the same seeded problems as problem files (what eval and
// grpo read), worked solutions (what sft reads) and plain text (a corpus).
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frugal/io/checkpoint.h"
#include "frugal/rl/problem_file.h"
#include "frugal/rl/prompt_format.h"
#include "frugal/rl/task_registry.h"
#include "support/test_support.h"

namespace frugal {
namespace {

TEST(ProblemsCli, ProblemFilesWorkedSolutionsAndText) {
  const std::string dir = test::make_temp_dir();
  const std::string common = "problems --task add --n 5 --seed 7 --digits 2 --out " + dir;
  ASSERT_EQ(test::run_frugal(common + "/p.jsonl").exit_code, 0);
  ASSERT_EQ(test::run_frugal(common + "/s.jsonl --sft compact").exit_code, 0);
  ASSERT_EQ(test::run_frugal(common + "/t.txt --text").exit_code, 0);

  const std::unique_ptr<rl::Task> task = rl::make_task("add", {.min_digits = 2, .max_digits = 2});
  const rl::ProblemFile file = rl::read_problem_file(dir + "/p.jsonl");
  ASSERT_EQ(file.problems.size(), 5u);
  std::istringstream sft(read_text_file(dir + "/s.jsonl"));
  std::string text;
  for (int i = 0; i < 5; ++i) {
    const rl::Problem want = task->make(7, static_cast<uint64_t>(i));
    EXPECT_EQ(file.problems[i].prompt, want.prompt);
    EXPECT_EQ(file.problems[i].answer, want.answer);
    std::string line;
    ASSERT_TRUE(std::getline(sft, line));
    const nlohmann::json example = nlohmann::json::parse(line);
    EXPECT_EQ(example["prompt"], rl::render_prompt(rl::PromptTemplate::Compact, want.prompt));
    const rl::ParsedCompletion parsed = rl::parse_completion(example["completion"].get<std::string>());
    EXPECT_TRUE(parsed.well_formed);
    EXPECT_TRUE(task->verify(want, *parsed.answer)) << "the worked solution is right";
    text += want.prompt + " = " + want.answer + "\n\n";
  }
  EXPECT_EQ(read_text_file(dir + "/t.txt"), text);

  const test::CommandResult both = test::run_frugal(common + "/x --sft compact --text");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.output.find("--sft and --text"), std::string::npos) << both.output;
}

TEST(ProblemsCli, ExcludeSkipsHeldOutPrompts) {
  const std::string dir = test::make_temp_dir();
  // Two-digit additions: ~9,000 prompts, so 2,000 from each of two seeds overlap.
  ASSERT_EQ(test::run_frugal("problems --task add --n 2000 --seed 1 --digits 1-2 --out " + dir + "/held.jsonl").exit_code, 0);
  ASSERT_EQ(test::run_frugal("problems --task add --n 2000 --seed 2 --digits 1-2 --out " + dir + "/all.jsonl").exit_code, 0);
  ASSERT_EQ(test::run_frugal("problems --task add --n 2000 --seed 2 --digits 1-2 --exclude " + dir +
                             "/held.jsonl --out " + dir + "/train.jsonl")
                .exit_code,
            0);
  std::set<std::string> held;
  for (const rl::Problem& p : rl::read_problem_file(dir + "/held.jsonl").problems) held.insert(p.prompt);
  const std::vector<rl::Problem> all = rl::read_problem_file(dir + "/all.jsonl").problems;
  const std::vector<rl::Problem> train = rl::read_problem_file(dir + "/train.jsonl").problems;
  ASSERT_EQ(train.size(), 2000u);
  int overlapping = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(held.count(train[i].prompt), 0u) << train[i].prompt;
    if (held.count(all[i].prompt)) ++overlapping;
    else EXPECT_EQ(train[i].prompt, all[i].prompt);
  }
  EXPECT_GT(overlapping, 50) << "without --exclude the seeds overlap";
}

}  // namespace
}  // namespace frugal
