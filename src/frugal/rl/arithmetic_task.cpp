#include "frugal/rl/arithmetic_task.h"

#include "frugal/core/error.h"
#include "frugal/rl/answer_match.h"
#include "frugal/rl/decimal.h"

namespace frugal::rl {

ArithmeticTask::ArithmeticTask(std::string name, std::string symbol, int min_digits, int max_digits)
    : name_(std::move(name)), symbol_(std::move(symbol)), min_digits_(min_digits), max_digits_(max_digits) {
  if (min_digits < 1 || max_digits > kMaxOperandDigits || min_digits > max_digits)
    fail("task ", name_, ": digits must be a range inside 1-", kMaxOperandDigits, ", got ", min_digits, "-",
         max_digits);
}

std::pair<std::string, std::string> ArithmeticTask::draw_mixed_lengths(ProblemRng& rng, int digits) {
  std::string longer = random_decimal(rng, digits);
  std::string other = random_decimal(rng, static_cast<int>(rng.uniform(1, digits)));
  if (rng.uniform(0, 1) == 1) return {other, longer};
  return {longer, other};
}

Problem ArithmeticTask::make_at_difficulty(uint64_t seed, uint64_t index, int digits) const {
  if (digits < min_digits_ || digits > max_digits_)
    fail("task ", name_, ": difficulty ", digits, " is outside its digits ", min_digits_, "-", max_digits_);
  ProblemRng rng(name_, seed, index);
  const auto [a, b] = draw_operands(rng, digits);
  Problem p;
  p.prompt = "Compute " + a + " " + symbol_ + " " + b;
  p.answer = result(a, b);
  p.id = name_ + "/s" + std::to_string(seed) + "/i" + std::to_string(index) + "/d" + std::to_string(digits);
  p.numbers = {std::stoll(a), std::stoll(b)};
  return p;
}

bool ArithmeticTask::verify(const Problem& problem, std::string_view answer) const {
  return answers_match(problem.answer, answer);
}

double ArithmeticTask::partial_credit(const Problem& problem, std::string_view answer) const {
  return digit_credit(problem.answer, answer);
}

std::string ArithmeticTask::worked_solution(const Problem& problem) const {
  if (problem.numbers.size() != 2 || problem.numbers[0] < 0 || problem.numbers[1] < 0)
    fail("task ", name_, ": problem ", problem.id, " does not hold two operands");
  const std::string a = std::to_string(problem.numbers[0]), b = std::to_string(problem.numbers[1]);
  return "<think> " + trace(a, b) + " </think> <answer> " + result(a, b) + " </answer>";
}

}  // namespace frugal::rl
