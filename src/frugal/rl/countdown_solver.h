#pragma once
// Finds a countdown solution with the fewest operations, for worked
// solutions: every step combines two available values into a positive
// integer (a+b, a-b with a > b, a*b, a/b when b > 1 divides a), the way the
// generator builds its targets, so a generated problem is always solved.
// Search: iterative deepening over the number of steps, pairs and operators
// in a fixed order, so the same numbers always give the same solution.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace frugal::rl {

struct CountdownSolution {
  std::vector<std::string> steps;  // "50-25=25", "25*3=75"
  std::string expression;          // "(50-25)*3", parenthesised only where needed
};

// nullopt when no positive-integer solution exists (or the target is one of the numbers).
std::optional<CountdownSolution> solve_countdown(std::span<const int64_t> numbers, int64_t target);

}  // namespace frugal::rl
