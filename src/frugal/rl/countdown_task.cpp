#include "frugal/rl/countdown_task.h"

#include <algorithm>
#include <optional>

#include "frugal/core/error.h"
#include "frugal/rl/answer_match.h"
#include "frugal/rl/countdown_expression.h"
#include "frugal/rl/countdown_solver.h"
#include "frugal/rl/problem_rng.h"

namespace frugal::rl {
namespace {

class CountdownTask final : public Task {
 public:
  CountdownTask(int min_numbers, int max_numbers, int64_t max_number)
      : min_numbers_(min_numbers), max_numbers_(max_numbers), max_number_(max_number) {
    if (min_numbers < kMinCountdownNumbers || max_numbers > kMaxCountdownNumbers || min_numbers > max_numbers)
      fail("task countdown: numbers must be a range inside ", kMinCountdownNumbers, "-", kMaxCountdownNumbers,
           ", got ", min_numbers, "-", max_numbers);
    if (max_number < 1 || max_number > kMaxCountdownNumber)
      fail("task countdown: the largest number must be in 1-", kMaxCountdownNumber, ", got ", max_number);
  }

  std::string name() const override { return "countdown"; }
  int min_difficulty() const override { return min_numbers_; }
  int max_difficulty() const override { return max_numbers_; }

  Problem make_at_difficulty(uint64_t seed, uint64_t index, int count) const override {
    if (count < min_numbers_ || count > max_numbers_)
      fail("task countdown: difficulty ", count, " is outside its numbers ", min_numbers_, "-", max_numbers_);
    ProblemRng rng("countdown", seed, index);
    std::vector<int64_t> numbers;
    for (int i = 0; i < count; ++i) numbers.push_back(rng.uniform(1, max_number_));
    const int64_t target = build_target(rng, numbers);

    Problem p;
    p.prompt = "Make " + std::to_string(target) + " from the numbers ";
    for (std::size_t i = 0; i < numbers.size(); ++i) p.prompt += (i ? ", " : "") + std::to_string(numbers[i]);
    p.prompt += " using + - * / with each number at most once";
    p.answer = std::to_string(target);
    p.id = "countdown/s" + std::to_string(seed) + "/i" + std::to_string(index) + "/d" + std::to_string(count);
    p.numbers = std::move(numbers);
    return p;
  }

  bool verify(const Problem& problem, std::string_view answer) const override {
    const std::optional<std::string> target = canonical_number(problem.answer);
    if (!target || target->find('.') != std::string::npos || target->size() > 18) return false;
    return reaches_target(trim(answer), problem.numbers, std::stoll(*target));
  }

  std::string worked_solution(const Problem& problem) const override {
    const std::optional<std::string> target = canonical_number(problem.answer);
    std::optional<CountdownSolution> s;
    if (target && target->find('.') == std::string::npos && target->size() <= 18)
      s = solve_countdown(problem.numbers, std::stoll(*target));
    if (!s) fail("task countdown: problem ", problem.id, " has no solution with positive whole steps");
    std::string steps;
    for (const std::string& step : s->steps) steps += (steps.empty() ? "" : ", ") + step;
    return "<think> " + steps + " </think> <answer> " + s->expression + " </answer>";
  }

 private:
  // Combines all the numbers, two at a time, with random operators whose
  // result is a positive integer no larger than ten times the largest
  // number; the first result that is not a given number is the target. The
  // sum of all the numbers (larger than each of them) is the fallback.
  int64_t build_target(ProblemRng& rng, const std::vector<int64_t>& numbers) const {
    const int64_t largest = 10 * max_number_;
    for (int attempt = 0; attempt < 20; ++attempt) {
      std::vector<int64_t> pool = numbers;
      while (pool.size() > 1) {
        const auto i = static_cast<std::size_t>(rng.uniform(0, static_cast<int64_t>(pool.size()) - 1));
        auto j = static_cast<std::size_t>(rng.uniform(0, static_cast<int64_t>(pool.size()) - 2));
        if (j >= i) ++j;
        const int64_t x = std::max(pool[i], pool[j]), y = std::min(pool[i], pool[j]);
        std::vector<int64_t> results = {x + y};
        if (x > y) results.push_back(x - y);
        if (x * y <= largest) results.push_back(x * y);
        if (y > 1 && x % y == 0) results.push_back(x / y);
        const int64_t r = results[static_cast<std::size_t>(rng.uniform(0, static_cast<int64_t>(results.size()) - 1))];
        pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(std::max(i, j)));
        pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(std::min(i, j)));
        pool.push_back(r);
      }
      const int64_t target = pool[0];
      if (target <= largest && std::find(numbers.begin(), numbers.end(), target) == numbers.end()) return target;
    }
    int64_t sum = 0;
    for (int64_t n : numbers) sum += n;
    return sum;
  }

  int min_numbers_, max_numbers_;
  int64_t max_number_;
};

}  // namespace

std::unique_ptr<Task> make_countdown_task(int min_numbers, int max_numbers, int64_t max_number) {
  return std::make_unique<CountdownTask>(min_numbers, max_numbers, max_number);
}

}  // namespace frugal::rl
