#include "frugal/rl/countdown_solver.h"

#include <utility>

namespace frugal::rl {
namespace {

// Operator precedence of an expression's top level, for minimal parentheses.
enum Precedence { kSum = 1, kProduct = 2, kAtom = 3 };

struct Value {
  int64_t number;
  std::string expression;
  Precedence precedence;
};

std::string wrap(const Value& v, bool needed) { return needed ? "(" + v.expression + ")" : v.expression; }

// a op b with a's and b's expressions parenthesised where precedence asks:
// the right operand of - and / also when it is of the same level.
Value combine(const Value& a, const Value& b, char op, int64_t number) {
  const Precedence p = op == '+' || op == '-' ? kSum : kProduct;
  const bool right_needs = b.precedence < p || (b.precedence == p && (op == '-' || op == '/'));
  return {number, wrap(a, a.precedence < p) + op + wrap(b, right_needs), p};
}

// Products beyond this are never needed for targets frugal generates and
// keep every value far from overflow.
constexpr int64_t kLargestValue = int64_t{1} << 40;

class Search {
 public:
  explicit Search(int64_t target) : target_(target) {}

  bool run(std::vector<Value>& pool, int steps_left) {
    if (steps_left == 0) return false;
    for (std::size_t i = 0; i < pool.size(); ++i)
      for (std::size_t j = i + 1; j < pool.size(); ++j) {
        const Value& x = pool[i].number >= pool[j].number ? pool[i] : pool[j];
        const Value& y = pool[i].number >= pool[j].number ? pool[j] : pool[i];
        for (char op : {'+', '-', '*', '/'}) {
          std::optional<int64_t> r = apply(x.number, y.number, op);
          if (!r) continue;
          Value made = combine(x, y, op, *r);
          std::string step = std::to_string(x.number) + op + std::to_string(y.number) + "=" + std::to_string(*r);
          if (*r == target_) {
            steps_.push_back(std::move(step));
            expression_ = made.expression;
            return true;
          }
          std::vector<Value> next;
          for (std::size_t k = 0; k < pool.size(); ++k)
            if (k != i && k != j) next.push_back(pool[k]);
          next.push_back(std::move(made));
          steps_.push_back(std::move(step));
          if (run(next, steps_left - 1)) return true;
          steps_.pop_back();
        }
      }
    return false;
  }

  CountdownSolution solution() const { return {steps_, expression_}; }

 private:
  // x >= y. Only steps that can shorten a solution: no x-x, x*1 or x/1.
  static std::optional<int64_t> apply(int64_t x, int64_t y, char op) {
    switch (op) {
      case '+': return x + y <= kLargestValue ? std::optional(x + y) : std::nullopt;
      case '-': return x > y ? std::optional(x - y) : std::nullopt;
      case '*':
        if (y <= 1 || x > kLargestValue / y) return std::nullopt;
        return x * y;
      case '/': return y > 1 && x % y == 0 ? std::optional(x / y) : std::nullopt;
    }
    return std::nullopt;
  }

  int64_t target_;
  std::vector<std::string> steps_;
  std::string expression_;
};

}  // namespace

std::optional<CountdownSolution> solve_countdown(std::span<const int64_t> numbers, int64_t target) {
  std::vector<Value> pool;
  for (int64_t n : numbers) {
    if (n <= 0 || n > kLargestValue) return std::nullopt;
    if (n == target) return std::nullopt;
    pool.push_back({n, std::to_string(n), kAtom});
  }
  for (int steps = 1; steps < static_cast<int>(pool.size()); ++steps) {
    Search search(target);
    std::vector<Value> start = pool;
    if (search.run(start, steps)) return search.solution();
  }
  return std::nullopt;
}

}  // namespace frugal::rl
