#include "frugal/rl/task.h"

#include "frugal/rl/problem_rng.h"

namespace frugal::rl {

int Task::difficulty(uint64_t seed, uint64_t index) const {
  ProblemRng rng(name() + "/difficulty", seed, index);
  return static_cast<int>(rng.uniform(min_difficulty(), max_difficulty()));
}

Problem Task::make(uint64_t seed, uint64_t index) const {
  return make_at_difficulty(seed, index, difficulty(seed, index));
}

}  // namespace frugal::rl
