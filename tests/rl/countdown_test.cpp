// countdown: the expression checker (valid answers, every way to cheat, and
// garbage that must not crash), the solver, and generated problems.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/rl/countdown_expression.h"
#include "frugal/rl/countdown_solver.h"
#include "frugal/rl/countdown_task.h"
#include "frugal/rl/problem_rng.h"
#include "frugal/rl/prompt_format.h"
#include "frugal/rl/task_registry.h"

namespace frugal::rl {
namespace {

using Numbers = std::vector<int64_t>;

std::string rejection(const std::string& expression, const Numbers& numbers) {
  const CountdownEvaluation e = evaluate_countdown(expression, numbers);
  EXPECT_FALSE(e.ok) << expression << " = " << e.value.numerator << "/" << e.value.denominator;
  return e.error;
}

TEST(CountdownExpression, EvaluatesExactly) {
  const Numbers n = {3, 7, 25, 50};
  EXPECT_TRUE(reaches_target("(50-25)*3", n, 75));
  EXPECT_TRUE(reaches_target(" ( 50 - 25 ) * 3 ", n, 75));
  EXPECT_TRUE(reaches_target("50+25", n, 75));          // not every number need be used
  EXPECT_TRUE(reaches_target("((50))+((25))", n, 75));  // redundant parentheses are fine
  EXPECT_TRUE(reaches_target("50-25-7-3", n, 15));      // left to right
  EXPECT_TRUE(reaches_target("50-(25-7)-3", n, 29));
  EXPECT_TRUE(reaches_target("3+7*25", n, 178));        // * before +
  EXPECT_TRUE(reaches_target("50/25*3", n, 6));
  EXPECT_FALSE(reaches_target("50+25", n, 76));
  EXPECT_EQ(evaluate_countdown("7-25", n).value, (Fraction{-18, 1}));  // negative values are allowed
}

TEST(CountdownExpression, AllowsFractionsAlongTheWay) {
  const Numbers n = {6, 1, 3, 4};
  EXPECT_TRUE(reaches_target("6/(1-3/4)", n, 24));
  EXPECT_EQ(evaluate_countdown("3/6", n).value, (Fraction{1, 2}));
  EXPECT_FALSE(reaches_target("3/6", n, 0));  // a fraction is never a whole target
}

TEST(CountdownExpression, RejectsEveryWayToCheat) {
  EXPECT_EQ(rejection("25+25", {25, 50}), "25 is used more than the numbers allow");
  EXPECT_TRUE(evaluate_countdown("25+25", Numbers{25, 25}).ok);  // given twice, usable twice
  EXPECT_EQ(rejection("4*3", {3, 7}), "4 is not one of the numbers");
  EXPECT_EQ(rejection("75", {3, 7, 25, 50}), "75 is not one of the numbers");
  EXPECT_EQ(rejection("7/(3-3)", {7, 3, 3}), "division by zero");
  EXPECT_EQ(rejection("-3+7", {3, 7}), "unexpected character '-' at offset 0");  // no unary minus
  EXPECT_EQ(rejection("3.5+7", {3, 7}), "unexpected character '.' at offset 1");
  EXPECT_EQ(rejection("(3+7", {3, 7}), "a '(' is not closed");
  EXPECT_EQ(rejection("3+7)", {3, 7}), "unexpected character ')' at offset 3");
  EXPECT_EQ(rejection("3 7", {3, 7}), "unexpected character '7' at offset 2");
  EXPECT_EQ(rejection("3+", {3, 7}), "the expression ends too early");
  EXPECT_EQ(rejection("", {3, 7}), "the expression ends too early");
  EXPECT_EQ(rejection("3x7", {3, 7}), "unexpected character 'x' at offset 1");
  EXPECT_EQ(rejection("3^7", {3, 7}), "unexpected character '^' at offset 1");
  EXPECT_EQ(rejection("(3+7)=10", {3, 7}), "unexpected character '=' at offset 5");
}

TEST(CountdownExpression, SurvivesGarbage) {
  EXPECT_EQ(rejection("123456789012345678901", {3}), "the number 123456789012345678901 is too long");
  EXPECT_EQ(rejection(std::string(5000, '('), {3}), "the expression is longer than 1000 characters");
  EXPECT_EQ(rejection(std::string(200, '(') + "3" + std::string(200, ')'), {3}),
            "parentheses nested deeper than 100");
  const Numbers big = {1000000000, 1000000000, 1000000000};
  EXPECT_EQ(rejection("1000000000*1000000000*1000000000", big), "the arithmetic overflows");
  EXPECT_EQ(rejection("1000000000/(1000000000*1000000000*1000000000)", {1000000000, 1000000000, 1000000000, 1000000000}),
            "the arithmetic overflows");
  // Random strings over the grammar's alphabet and beyond: never a crash.
  const std::string alphabet = "0123456789+-*/() \t.x=^\xff\xc3";
  ProblemRng rng("garbage", 1, 1);
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    for (int64_t k = rng.uniform(0, 30); k > 0; --k) s += alphabet[static_cast<std::size_t>(rng.uniform(0, static_cast<int64_t>(alphabet.size()) - 1))];
    valid += evaluate_countdown(s, Numbers{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}).ok;
  }
  EXPECT_GT(valid, 0);  // some random strings are real expressions
}

TEST(CountdownSolver, FindsAShortestSolutionWithMinimalParentheses) {
  const Numbers a = {3, 7, 25, 50};
  const auto s = solve_countdown(a, 75);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->steps, (std::vector<std::string>{"25*3=75"}));  // the first one-step solution in search order
  EXPECT_EQ(s->expression, "25*3");

  const Numbers b = {2, 3, 4};
  const auto t = solve_countdown(b, 20);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->steps, (std::vector<std::string>{"3+2=5", "5*4=20"}));
  EXPECT_EQ(t->expression, "(3+2)*4");

  const Numbers c = {10, 3, 2};
  EXPECT_EQ(solve_countdown(c, 9)->expression, "10-3+2");
  EXPECT_EQ(solve_countdown(c, 4)->expression, "(10+2)/3");

  const Numbers d = {1, 1};
  EXPECT_FALSE(solve_countdown(d, 5).has_value());
  EXPECT_FALSE(solve_countdown(a, 25).has_value());  // the target is a given number
}

TEST(CountdownSolver, SolutionsAlwaysEvaluateToTheTarget) {
  ProblemRng rng("solver-test", 1, 1);
  int solved = 0;
  for (int i = 0; i < 300; ++i) {
    Numbers n;
    for (int64_t k = rng.uniform(2, 4); k > 0; --k) n.push_back(rng.uniform(1, 30));
    const int64_t target = rng.uniform(1, 200);
    const auto s = solve_countdown(n, target);
    if (!s) continue;
    ++solved;
    EXPECT_TRUE(reaches_target(s->expression, n, target)) << s->expression << " -> " << target;
  }
  EXPECT_GT(solved, 50);
}

TEST(CountdownTask, ProblemsAreSolvableDeterministicAndRespectTheCount) {
  const auto task = make_task("countdown", {.min_numbers = 3, .max_numbers = 4, .max_number = 100});
  std::set<int64_t> counts;
  std::set<std::string> prompts;
  for (uint64_t i = 0; i < 300; ++i) {
    const Problem p = task->make(11, i);
    EXPECT_EQ(p.prompt, task->make(11, i).prompt);
    prompts.insert(p.prompt);
    const int d = task->difficulty(11, i);
    counts.insert(d);
    ASSERT_EQ(p.numbers.size(), static_cast<std::size_t>(d));
    const int64_t target = std::stoll(p.answer);
    EXPECT_GT(target, 0);
    EXPECT_LE(target, 1000);
    for (int64_t n : p.numbers) {
      EXPECT_GE(n, 1);
      EXPECT_LE(n, 100);
      EXPECT_NE(n, target);
    }
    const ParsedCompletion c = parse_completion(task->worked_solution(p));
    EXPECT_TRUE(c.well_formed);
    ASSERT_TRUE(c.answer.has_value());
    EXPECT_TRUE(task->verify(p, *c.answer)) << p.prompt << " <- " << *c.answer;
    EXPECT_FALSE(task->verify(p, p.answer)) << "the bare target is not an expression over the numbers";
  }
  EXPECT_EQ(counts, (std::set<int64_t>{3, 4}));
  // A fixed problem, so a change of the generator does not go unnoticed.
  const Problem fixed = task->make(7, 0);
  EXPECT_EQ(fixed.id, "countdown/s7/i0/d4");
  EXPECT_EQ(fixed.prompt, "Make 186 from the numbers 64, 7, 44, 71 using + - * / with each number at most once");
  EXPECT_EQ(fixed.numbers, (Numbers{64, 7, 44, 71}));
  EXPECT_GT(prompts.size(), 290u);
}

TEST(CountdownTask, PromptNamesTargetAndNumbers) {
  const auto task = make_countdown_task(3, 3, 100);
  const Problem p = task->make(5, 9);
  std::string expected = "Make " + p.answer + " from the numbers " + std::to_string(p.numbers[0]) + ", " +
                         std::to_string(p.numbers[1]) + ", " + std::to_string(p.numbers[2]) +
                         " using + - * / with each number at most once";
  EXPECT_EQ(p.prompt, expected);
  EXPECT_EQ(p.id, "countdown/s5/i9/d3");
}

TEST(CountdownTask, RejectsBadOptions) {
  EXPECT_THROW(make_countdown_task(1, 4, 100), Error);
  EXPECT_THROW(make_countdown_task(3, 6, 100), Error);
  EXPECT_THROW(make_countdown_task(4, 3, 100), Error);
  EXPECT_THROW(make_countdown_task(3, 4, 0), Error);
  const auto task = make_countdown_task(3, 4, 100);
  Problem unsolvable{"?", "5", "by-hand", {1, 1}};
  EXPECT_THROW(task->worked_solution(unsolvable), Error);
  EXPECT_FALSE(task->verify(unsolvable, "1+1"));
  Problem bad_target{"?", "five", "by-hand", {1, 1}};
  EXPECT_FALSE(task->verify(bad_target, "1+1"));
}

}  // namespace
}  // namespace frugal::rl
