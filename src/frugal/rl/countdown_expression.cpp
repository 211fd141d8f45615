#include "frugal/rl/countdown_expression.h"

#include <numeric>
#include <vector>

namespace frugal::rl {
namespace {

constexpr std::size_t kMaxLength = 1000;
constexpr int kMaxDepth = 100;
constexpr std::size_t kMaxLiteralDigits = 18;

struct Rejected {
  std::string why;
};

// Overflow counts as a rejection: such a value can never be a target.
int64_t checked(bool overflowed, int64_t value) {
  if (overflowed || value == INT64_MIN) throw Rejected{"the arithmetic overflows"};
  return value;
}
int64_t mul(int64_t a, int64_t b) {
  int64_t r = 0;
  const bool overflowed = __builtin_mul_overflow(a, b, &r);
  return checked(overflowed, r);
}
int64_t add(int64_t a, int64_t b) {
  int64_t r = 0;
  const bool overflowed = __builtin_add_overflow(a, b, &r);
  return checked(overflowed, r);
}

Fraction reduced(int64_t numerator, int64_t denominator) {
  if (denominator < 0) numerator = -numerator, denominator = -denominator;
  const int64_t g = std::gcd(numerator, denominator);
  return {numerator / g, denominator / g};
}

Fraction plus(Fraction a, Fraction b, int sign) {
  return reduced(add(mul(a.numerator, b.denominator), sign * mul(b.numerator, a.denominator)),
                 mul(a.denominator, b.denominator));
}
Fraction times(Fraction a, Fraction b) {
  return reduced(mul(a.numerator, b.numerator), mul(a.denominator, b.denominator));
}
Fraction divided(Fraction a, Fraction b) {
  if (b.numerator == 0) throw Rejected{"division by zero"};
  return reduced(mul(a.numerator, b.denominator), mul(a.denominator, b.numerator));
}

class Parser {
 public:
  Parser(std::string_view text, std::span<const int64_t> numbers)
      : text_(text), given_(numbers), unused_(numbers.begin(), numbers.end()) {}

  Fraction parse() {
    const Fraction value = expression();
    skip_spaces();
    if (pos_ < text_.size()) unexpected();
    return value;
  }

 private:
  Fraction expression() {
    Fraction value = term();
    for (char op; (op = peek()) == '+' || op == '-';) {
      ++pos_;
      value = plus(value, term(), op == '+' ? 1 : -1);
    }
    return value;
  }

  Fraction term() {
    Fraction value = factor();
    for (char op; (op = peek()) == '*' || op == '/';) {
      ++pos_;
      const Fraction right = factor();
      value = op == '*' ? times(value, right) : divided(value, right);
    }
    return value;
  }

  Fraction factor() {
    const char c = peek();
    if (c == '(') {
      if (++depth_ > kMaxDepth) throw Rejected{"parentheses nested deeper than " + std::to_string(kMaxDepth)};
      ++pos_;
      const Fraction value = expression();
      if (peek() != ')') throw Rejected{"a '(' is not closed"};
      ++pos_;
      --depth_;
      return value;
    }
    if (c >= '0' && c <= '9') return number();
    unexpected();
  }

  Fraction number() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    const std::string_view digits = text_.substr(start, pos_ - start);
    if (digits.size() > kMaxLiteralDigits) throw Rejected{"the number " + std::string(digits) + " is too long"};
    const int64_t value = std::stoll(std::string(digits));
    for (auto it = unused_.begin(); it != unused_.end(); ++it)
      if (*it == value) {
        unused_.erase(it);
        return {value, 1};
      }
    bool given = false;
    for (int64_t n : given_) given = given || n == value;
    throw Rejected{std::to_string(value) + (given ? " is used more than the numbers allow" : " is not one of the numbers")};
  }

  char peek() {
    skip_spaces();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  void skip_spaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) ++pos_;
  }
  [[noreturn]] void unexpected() {
    if (pos_ >= text_.size()) throw Rejected{"the expression ends too early"};
    throw Rejected{"unexpected character '" + std::string(1, text_[pos_]) + "' at offset " + std::to_string(pos_)};
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::span<const int64_t> given_;
  std::vector<int64_t> unused_;  // the given numbers not used yet
};

}  // namespace

CountdownEvaluation evaluate_countdown(std::string_view expression, std::span<const int64_t> numbers) {
  CountdownEvaluation result;
  if (expression.size() > kMaxLength) {
    result.error = "the expression is longer than " + std::to_string(kMaxLength) + " characters";
    return result;
  }
  try {
    result.value = Parser(expression, numbers).parse();
    result.ok = true;
  } catch (const Rejected& r) {
    result.error = r.why;
  }
  return result;
}

bool reaches_target(std::string_view expression, std::span<const int64_t> numbers, int64_t target) {
  const CountdownEvaluation e = evaluate_countdown(expression, numbers);
  return e.ok && e.value == Fraction{target, 1};
}

}  // namespace frugal::rl
