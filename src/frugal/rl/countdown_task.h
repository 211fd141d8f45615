#pragma once
// countdown: reach a target from 3-4 given numbers with + - * / (each number
// at most once). Difficulty = how many numbers are given. Instances are
// solvable by construction: the target is built by combining all the given
// numbers with random positive-integer steps (the solver's kind of step),
// and is never one of the given numbers. The answer is an expression, checked
// by countdown_expression.h (exact rationals, so fractions along the way are
// fine). The trace lists the steps of a shortest solution (countdown_solver.h):
//   3, 7, 25, 50 -> 75  ->  <think> 25*3=75 </think> <answer> 25*3 </answer>
//   2, 3, 4 -> 20       ->  <think> 3+2=5, 5*4=20 </think> <answer> (3+2)*4 </answer>
#include <cstdint>
#include <memory>

#include "frugal/rl/task.h"

namespace frugal::rl {

inline constexpr int kMinCountdownNumbers = 2;
inline constexpr int kMaxCountdownNumbers = 5;  // the solver's search grows fast beyond
inline constexpr int64_t kMaxCountdownNumber = 10000;

std::unique_ptr<Task> make_countdown_task(int min_numbers, int max_numbers, int64_t max_number);

}  // namespace frugal::rl
