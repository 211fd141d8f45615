#pragma once
// Checking a countdown answer: an arithmetic expression over the given
// numbers, evaluated exactly with its own small parser (nothing is ever
// handed to an interpreter).
//
// Grammar (whitespace allowed between tokens):
//   expression := term (("+" | "-") term)*
//   term       := factor (("*" | "/") factor)*
//   factor     := number | "(" expression ")"
//   number     := digit+                      (at most 18 digits)
// No unary minus, no decimals, no other symbols. Every number must be one of
// the given numbers, each given number used at most once (not all need be
// used). Arithmetic is exact over rationals, so intermediate fractions are
// allowed (6 / (1 - 3/4) = 24) as long as the final value is the target;
// division by zero and int64 overflow reject the expression. Expressions
// longer than 1000 characters or nested deeper than 100 parentheses are
// rejected without being parsed, so any input is safe.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace frugal::rl {

struct Fraction {
  int64_t numerator = 0;
  int64_t denominator = 1;  // > 0, coprime with the numerator
  bool operator==(const Fraction&) const = default;
};

struct CountdownEvaluation {
  bool ok = false;
  Fraction value;
  std::string error;  // why the expression was rejected, when !ok
};

CountdownEvaluation evaluate_countdown(std::string_view expression, std::span<const int64_t> numbers);

// Whether `expression` is a valid expression over `numbers` whose value is `target`.
bool reaches_target(std::string_view expression, std::span<const int64_t> numbers, int64_t target);

}  // namespace frugal::rl
