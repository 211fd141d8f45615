// add: "Compute 47 + 85". The trace adds column by column from the right,
// the shorter operand padded with zeros: each column "x+y=s", "+1" when a
// carry comes in, " c1" when one goes out; a final carry is a lone "1".
//   47 + 85  ->  <think> 7+5=12 c1, 4+8+1=13 c1, 1 </think> <answer> 132 </answer>
// The answer's digits are the columns' last digits read from the end.
#include <algorithm>

#include "frugal/rl/arithmetic_task.h"
#include "frugal/rl/decimal.h"

namespace frugal::rl {
namespace {

class AddTask final : public ArithmeticTask {
 public:
  AddTask(int min_digits, int max_digits) : ArithmeticTask("add", "+", min_digits, max_digits) {}

 protected:
  std::pair<std::string, std::string> draw_operands(ProblemRng& rng, int digits) const override {
    return draw_mixed_lengths(rng, digits);
  }
  std::string result(const std::string& a, const std::string& b) const override { return add_decimal(a, b); }
  std::string trace(const std::string& a, const std::string& b) const override {
    std::string out;
    int carry = 0;
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      const int x = i < a.size() ? a[a.size() - 1 - i] - '0' : 0;
      const int y = i < b.size() ? b[b.size() - 1 - i] - '0' : 0;
      const int sum = x + y + carry;
      if (i > 0) out += ", ";
      out += std::to_string(x) + "+" + std::to_string(y) + (carry ? "+1" : "") + "=" + std::to_string(sum);
      carry = sum >= 10;
      if (carry) out += " c1";
    }
    if (carry) out += ", 1";
    return out;
  }
};

}  // namespace

std::unique_ptr<Task> make_add_task(int min_digits, int max_digits) {
  return std::make_unique<AddTask>(min_digits, max_digits);
}

}  // namespace frugal::rl
