// add, sub and mul: deterministic generation that respects the digits, right
// answers (checked against int64 arithmetic), exact trace formats.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "frugal/core/error.h"
#include "frugal/rl/arithmetic_task.h"
#include "frugal/rl/decimal.h"
#include "frugal/rl/task_registry.h"

namespace frugal::rl {
namespace {

Problem with_operands(const Task& task, int64_t a, int64_t b) {
  Problem p;
  p.id = "by-hand";
  p.numbers = {a, b};
  p.answer = "unused";
  (void)task;
  return p;
}

TEST(ArithmeticTask, TracesFollowTheDocumentedFormats) {
  const auto add = make_add_task(1, 3), sub = make_sub_task(1, 3), mul = make_mul_task(1, 3);
  EXPECT_EQ(add->worked_solution(with_operands(*add, 47, 85)),
            "<think> 7+5=12 c1, 4+8+1=13 c1, 1 </think> <answer> 132 </answer>");
  EXPECT_EQ(add->worked_solution(with_operands(*add, 123, 45)),
            "<think> 3+5=8, 2+4=6, 1+0=1 </think> <answer> 168 </answer>");
  EXPECT_EQ(add->worked_solution(with_operands(*add, 5, 995)),
            "<think> 5+5=10 c1, 0+9+1=10 c1, 0+9+1=10 c1, 1 </think> <answer> 1000 </answer>");
  EXPECT_EQ(sub->worked_solution(with_operands(*sub, 52, 17)), "<think> 12-7=5 b1, 5-1-1=3 </think> <answer> 35 </answer>");
  EXPECT_EQ(sub->worked_solution(with_operands(*sub, 1000, 1)),
            "<think> 10-1=9 b1, 10-0-1=9 b1, 10-0-1=9 b1, 1-0-1=0 </think> <answer> 999 </answer>");
  EXPECT_EQ(sub->worked_solution(with_operands(*sub, 7, 7)), "<think> 7-7=0 </think> <answer> 0 </answer>");
  EXPECT_EQ(mul->worked_solution(with_operands(*mul, 47, 85)),
            "<think> 47*5=235, 47*80=3760, 235+3760=3995 </think> <answer> 3995 </answer>");
  EXPECT_EQ(mul->worked_solution(with_operands(*mul, 47, 105)),  // the longer operand is multiplied
            "<think> 105*7=735, 105*40=4200, 735+4200=4935 </think> <answer> 4935 </answer>");
  EXPECT_EQ(mul->worked_solution(with_operands(*mul, 304, 12)),
            "<think> 304*2=608, 304*10=3040, 608+3040=3648 </think> <answer> 3648 </answer>");
  EXPECT_EQ(mul->worked_solution(with_operands(*mul, 47, 0)), "<think> 47*0=0 </think> <answer> 0 </answer>");
  EXPECT_EQ(mul->worked_solution(with_operands(*mul, 6, 7)), "<think> 6*7=42 </think> <answer> 42 </answer>");
}

TEST(ArithmeticTask, ProblemsAreDeterministicAndSeedsDiffer) {
  const auto task = make_task("add", {.min_digits = 2, .max_digits = 4});
  std::set<std::string> seed7, seed8;
  for (uint64_t i = 0; i < 200; ++i) {
    const Problem a = task->make(7, i), b = task->make(7, i);
    EXPECT_EQ(a.prompt, b.prompt);
    EXPECT_EQ(a.answer, b.answer);
    EXPECT_EQ(a.id, b.id);
    seed7.insert(a.prompt);
    seed8.insert(task->make(8, i).prompt);
  }
  int shared = 0;
  for (const std::string& p : seed7) shared += seed8.count(p);
  EXPECT_GT(seed7.size(), 190u);
  EXPECT_LT(shared, 10);
  // Fixed problems, so a change of the generator (which would silently
  // change every evaluation set) does not go unnoticed.
  const Problem first = task->make(7, 0), second = task->make(7, 1);
  EXPECT_EQ(first.id, "add/s7/i0/d4");
  EXPECT_EQ(first.prompt, "Compute 8086 + 18");
  EXPECT_EQ(first.answer, "8104");
  EXPECT_EQ(first.numbers, (std::vector<int64_t>{8086, 18}));
  EXPECT_EQ(second.id, "add/s7/i1/d2");
  EXPECT_EQ(second.prompt, "Compute 48 + 50");
}

TEST(ArithmeticTask, RespectsTheDigitsAndComputesTheRightAnswer) {
  for (const std::string name : {"add", "sub", "mul"}) {
    const auto task = make_task(name, {.min_digits = 1, .max_digits = 9});
    std::set<int> seen;
    for (uint64_t i = 0; i < 400; ++i) {
      const int d = task->difficulty(3, i);
      seen.insert(d);
      const Problem p = task->make(3, i);
      ASSERT_EQ(p.numbers.size(), 2u);
      const int64_t a = p.numbers[0], b = p.numbers[1];
      const std::size_t la = std::to_string(a).size(), lb = std::to_string(b).size();
      EXPECT_EQ(std::max(la, lb), static_cast<std::size_t>(d)) << p.prompt;
      const int64_t expected = name == "add" ? a + b : name == "sub" ? a - b : a * b;
      EXPECT_EQ(p.answer, std::to_string(expected)) << p.prompt;
      if (name == "sub") {
        EXPECT_GE(a, b) << "sub never goes negative: " << p.prompt;
      }
      EXPECT_TRUE(task->verify(p, std::to_string(expected)));
      EXPECT_FALSE(task->verify(p, std::to_string(expected + 1)));
    }
    EXPECT_EQ(seen.size(), 9u) << name << ": every difficulty in 1-9 drawn";
  }
}

TEST(ArithmeticTask, HandlesTheLongestOperands) {
  const auto task = make_task("mul", {.min_digits = 18, .max_digits = 18});
  const Problem p = task->make(1, 0);
  EXPECT_EQ(std::max(std::to_string(p.numbers[0]).size(), std::to_string(p.numbers[1]).size()), 18u);
  EXPECT_EQ(p.answer, multiply_decimal(std::to_string(p.numbers[0]), std::to_string(p.numbers[1])));
  EXPECT_TRUE(task->verify(p, p.answer));
}

TEST(ArithmeticTask, VerifiesByValueAndGivesDigitCredit) {
  const auto task = make_add_task(1, 3);
  Problem p = with_operands(*task, 47, 85);
  p.answer = "132";
  EXPECT_TRUE(task->verify(p, "132"));
  EXPECT_TRUE(task->verify(p, " 0132 "));
  EXPECT_FALSE(task->verify(p, "133"));
  EXPECT_FALSE(task->verify(p, "132 apples"));
  EXPECT_FALSE(task->verify(p, ""));
  EXPECT_DOUBLE_EQ(task->partial_credit(p, "132"), 1.0);
  EXPECT_NEAR(task->partial_credit(p, "122"), 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(task->partial_credit(p, "nonsense"), 0.0);
}

TEST(ArithmeticTask, RejectsBadDifficulties) {
  EXPECT_THROW(make_add_task(0, 3), Error);
  EXPECT_THROW(make_add_task(3, 2), Error);
  EXPECT_THROW(make_add_task(1, kMaxOperandDigits + 1), Error);
  const auto task = make_add_task(2, 3);
  EXPECT_THROW(task->make_at_difficulty(1, 1, 4), Error);
  EXPECT_THROW(task->worked_solution(Problem{"Compute 1 + 2", "3", "x", {}}), Error);
}

TEST(Decimal, MatchesInt64Arithmetic) {
  ProblemRng rng("decimal-test", 1, 2);
  for (int i = 0; i < 2000; ++i) {
    const int64_t a = rng.uniform(0, 999999999), b = rng.uniform(0, 999999999);
    const std::string x = std::to_string(a), y = std::to_string(b);
    EXPECT_EQ(add_decimal(x, y), std::to_string(a + b));
    EXPECT_EQ(multiply_decimal(x, y), std::to_string(a * b));
    EXPECT_EQ(subtract_decimal(std::max(a, b) == a ? x : y, std::max(a, b) == a ? y : x),
              std::to_string(std::max(a, b) - std::min(a, b)));
    EXPECT_EQ(compare_decimal(x, y) < 0, a < b);
  }
}

}  // namespace
}  // namespace frugal::rl
