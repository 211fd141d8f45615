// Every registered task: worked solutions are well formed, verify, and every
// step of their reasoning is true arithmetic, for many seeds; the registry's
// errors name what is wrong.
#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/rl/answer_match.h"
#include "frugal/rl/countdown_expression.h"
#include "frugal/rl/prompt_format.h"
#include "frugal/rl/task_registry.h"
#include "support/test_support.h"

namespace frugal::rl {
namespace {

// The reasoning between the tags, split into its ", "-separated steps.
std::vector<std::string> steps_of(const std::string& solution) {
  const std::size_t open = solution.find("<think>") + 7, close = solution.find("</think>");
  std::string think(trim(std::string_view(solution).substr(open, close - open)));
  std::vector<std::string> steps;
  for (std::size_t start = 0;;) {
    const std::size_t comma = think.find(", ", start);
    steps.push_back(think.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 2;
  }
  return steps;
}

// "4+8+1=13 c1" holds: the left side evaluates to the right (the carry and
// borrow marks are notes; a lone "1" is add's final carry).
bool step_holds(std::string step) {
  for (const char* mark : {" c1", " b1"})
    if (step.ends_with(mark)) step.resize(step.size() - 3);
  if (step == "1") return true;
  const std::size_t eq = step.find('=');
  if (eq == std::string::npos) return false;
  const std::string lhs = step.substr(0, eq), rhs = step.substr(eq + 1);
  std::vector<int64_t> literals;  // every literal of the left side may be used once
  for (std::size_t i = 0; i < lhs.size();) {
    std::size_t j = i;
    while (j < lhs.size() && std::isdigit(static_cast<unsigned char>(lhs[j]))) ++j;
    if (j > i) literals.push_back(std::stoll(lhs.substr(i, j - i)));
    i = j > i ? j : i + 1;
  }
  const CountdownEvaluation e = evaluate_countdown(lhs, literals);
  return e.ok && e.value.denominator == 1 && std::to_string(e.value.numerator) == rhs;
}

TEST(Tasks, WorkedSolutionsAreWellFormedTrueAndVerifyForManySeeds) {
  for (const std::string& name : task_names()) {
    const auto task = make_task(name, name == "countdown" ? TaskOptions{.min_numbers = 2, .max_numbers = 5}
                                                          : TaskOptions{.min_digits = 1, .max_digits = 7});
    for (uint64_t seed = 0; seed < 4; ++seed)
      for (uint64_t i = 0; i < 150; ++i) {
        const Problem p = task->make(seed, i);
        const std::string solution = task->worked_solution(p);
        const ParsedCompletion c = parse_completion(solution);
        ASSERT_TRUE(c.well_formed) << solution;
        ASSERT_TRUE(c.answer.has_value());
        EXPECT_TRUE(task->verify(p, *c.answer)) << p.prompt << ": " << solution;
        EXPECT_DOUBLE_EQ(task->partial_credit(p, *c.answer), 1.0);
        for (const std::string& step : steps_of(solution)) EXPECT_TRUE(step_holds(step)) << step << " in " << solution;
        // Both templates carry it.
        EXPECT_TRUE(parse_completion(render_completion(PromptTemplate::R1Zero, solution)).well_formed);
        EXPECT_EQ(render_completion(PromptTemplate::Compact, solution), solution);
      }
  }
}

TEST(Tasks, VerifiersNeverThrowOnGarbage) {
  const std::vector<std::string> garbage_answers = {
      "", " ", "(", ")", "((((", "-", "+-", "1e999", "\xff\xfe", "9999999999999999999999", "</answer>",
      "NaN", "inf", "0x10", "1/0", "()", std::string(5000, '9'), std::string(3000, '(')};
  for (const std::string& name : task_names()) {
    const auto task = make_task(name);
    const Problem p = task->make(1, 1);
    for (const std::string& garbage : garbage_answers) {
      EXPECT_NO_THROW(task->verify(p, garbage)) << name << ": " << garbage;
      EXPECT_NO_THROW(task->partial_credit(p, garbage)) << name << ": " << garbage;
      EXPECT_FALSE(task->verify(p, garbage)) << name << ": " << garbage;
    }
  }
}

TEST(TaskRegistry, NamesTheKnownTasksAndRejectsUnusedOptions) {
  EXPECT_EQ(task_names(), (std::vector<std::string>{"add", "sub", "mul", "countdown"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { make_task("divide"); },
                                            {"unknown task \"divide\"", "add, sub, mul, countdown"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { make_task("countdown", {.min_digits = 2, .max_digits = 2}); },
                                            {"countdown", "digits"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { make_task("add", {.max_number = 50}); }, {"add", "max number"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { make_task("mul", {.min_digits = 4, .max_digits = 2}); },
                                            {"mul", "digits", "4-2"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { make_task("countdown", {.min_numbers = 3, .max_numbers = 9}); },
                                            {"countdown", "numbers", "2-5"}));
  const auto defaults = make_task("add");
  EXPECT_EQ(defaults->min_difficulty(), 1);
  EXPECT_EQ(defaults->max_difficulty(), 3);
  const auto countdown = make_task("countdown");
  EXPECT_EQ(countdown->min_difficulty(), 3);
  EXPECT_EQ(countdown->max_difficulty(), 4);
  EXPECT_EQ(make_task("sub", {.min_digits = 5})->max_difficulty(), 5);
}

}  // namespace
}  // namespace frugal::rl
