// sub: "Compute 52 - 17", never negative (the larger operand comes first).
// The trace subtracts column by column from the right, the shorter operand
// padded with zeros: each column "x-y=r", "-1" when a borrow comes in; when
// the column would go below zero it borrows ten, written "1x-y=r b1".
//   52 - 17  ->  <think> 12-7=5 b1, 5-1-1=3 </think> <answer> 35 </answer>
// The answer's digits are the results read from the end, leading zeros dropped.
#include <algorithm>

#include "frugal/rl/arithmetic_task.h"
#include "frugal/rl/decimal.h"

namespace frugal::rl {
namespace {

class SubTask final : public ArithmeticTask {
 public:
  SubTask(int min_digits, int max_digits) : ArithmeticTask("sub", "-", min_digits, max_digits) {}

 protected:
  std::pair<std::string, std::string> draw_operands(ProblemRng& rng, int digits) const override {
    auto [a, b] = draw_mixed_lengths(rng, digits);
    if (compare_decimal(a, b) < 0) std::swap(a, b);
    return {a, b};
  }
  std::string result(const std::string& a, const std::string& b) const override { return subtract_decimal(a, b); }
  std::string trace(const std::string& a, const std::string& b) const override {
    std::string out;
    int borrow = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const int x = a[a.size() - 1 - i] - '0';
      const int y = i < b.size() ? b[b.size() - 1 - i] - '0' : 0;
      const bool borrows = x - y - borrow < 0;
      if (i > 0) out += ", ";
      if (borrows) out += '1';
      out += std::to_string(x) + "-" + std::to_string(y) + (borrow ? "-1" : "") + "=" +
             std::to_string(x + 10 * borrows - y - borrow);
      if (borrows) out += " b1";
      borrow = borrows;
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Task> make_sub_task(int min_digits, int max_digits) {
  return std::make_unique<SubTask>(min_digits, max_digits);
}

}  // namespace frugal::rl
