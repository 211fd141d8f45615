// mul: "Compute 47 * 85". The trace multiplies the longer operand (the first
// on a tie) by each non-zero digit of the other in its place, from the
// right, then adds the partial products one at a time:
//   47 * 85     ->  <think> 47*5=235, 47*80=3760, 235+3760=3995 </think> <answer> 3995 </answer>
//   47 * 105    ->  <think> 105*7=735, 105*40=4200, 735+4200=4935 </think> <answer> 4935 </answer>
//   1203 * 105  ->  <think> 1203*5=6015, 1203*100=120300, 6015+120300=126315 </think> ...
//   47 * 0      ->  <think> 47*0=0 </think> <answer> 0 </answer>
#include <vector>

#include "frugal/rl/arithmetic_task.h"
#include "frugal/rl/decimal.h"

namespace frugal::rl {
namespace {

class MulTask final : public ArithmeticTask {
 public:
  MulTask(int min_digits, int max_digits) : ArithmeticTask("mul", "*", min_digits, max_digits) {}

 protected:
  std::pair<std::string, std::string> draw_operands(ProblemRng& rng, int digits) const override {
    return draw_mixed_lengths(rng, digits);
  }
  std::string result(const std::string& a, const std::string& b) const override { return multiply_decimal(a, b); }
  std::string trace(const std::string& a, const std::string& b) const override {
    const bool b_longer = b.size() > a.size();
    const std::string& multiplicand = b_longer ? b : a;
    const std::string& multiplier = b_longer ? a : b;
    std::string out;
    std::vector<std::string> partials;
    for (std::size_t i = 0; i < multiplier.size(); ++i) {
      const char digit = multiplier[multiplier.size() - 1 - i];
      if (digit == '0') continue;
      const std::string part = digit + std::string(i, '0');
      partials.push_back(multiply_decimal(multiplicand, part));
      if (!out.empty()) out += ", ";
      out += multiplicand + "*" + part + "=" + partials.back();
    }
    if (partials.empty()) return multiplicand + "*0=0";
    std::string sum = partials[0];
    for (std::size_t i = 1; i < partials.size(); ++i) {
      const std::string next = add_decimal(sum, partials[i]);
      out += ", " + sum + "+" + partials[i] + "=" + next;
      sum = next;
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Task> make_mul_task(int min_digits, int max_digits) {
  return std::make_unique<MulTask>(min_digits, max_digits);
}

}  // namespace frugal::rl
