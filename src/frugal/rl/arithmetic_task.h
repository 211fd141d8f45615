#pragma once
// The arithmetic tasks add, sub and mul: "Compute A + B" with an integer
// answer. Difficulty = the digits of the longer operand; the other operand
// has 1 to that many digits (drawn uniformly). Subtraction never goes
// negative (the larger operand comes first), so its trace needs no sign.
// Each task's trace format is described in its own file.
#include <memory>
#include <string>
#include <utility>

#include "frugal/rl/problem_rng.h"
#include "frugal/rl/task.h"

namespace frugal::rl {

// Operands live in Problem::numbers, so they must fit an int64.
inline constexpr int kMaxOperandDigits = 18;

class ArithmeticTask : public Task {
 public:
  ArithmeticTask(std::string name, std::string symbol, int min_digits, int max_digits);

  std::string name() const override { return name_; }
  int min_difficulty() const override { return min_digits_; }
  int max_difficulty() const override { return max_digits_; }
  Problem make_at_difficulty(uint64_t seed, uint64_t index, int digits) const override;
  bool verify(const Problem& problem, std::string_view answer) const override;
  // The fraction of right digits (answer_match.h digit_credit).
  double partial_credit(const Problem& problem, std::string_view answer) const override;
  std::string worked_solution(const Problem& problem) const override;

 protected:
  // The two operands (decimal digit strings) of a problem whose longer
  // operand has `digits` digits.
  virtual std::pair<std::string, std::string> draw_operands(ProblemRng& rng, int digits) const = 0;
  virtual std::string result(const std::string& a, const std::string& b) const = 0;
  // The reasoning between <think> and </think>.
  virtual std::string trace(const std::string& a, const std::string& b) const = 0;

  // Operands whose longer one has `digits` digits, the other 1 to `digits`, in either order.
  static std::pair<std::string, std::string> draw_mixed_lengths(ProblemRng& rng, int digits);

 private:
  std::string name_, symbol_;
  int min_digits_, max_digits_;
};

std::unique_ptr<Task> make_add_task(int min_digits, int max_digits);
std::unique_ptr<Task> make_sub_task(int min_digits, int max_digits);
std::unique_ptr<Task> make_mul_task(int min_digits, int max_digits);

}  // namespace frugal::rl
