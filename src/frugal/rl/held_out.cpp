#include "frugal/rl/held_out.h"

#include "frugal/core/error.h"
#include "frugal/rl/problem_file.h"

namespace frugal::rl {

void HeldOutSet::add_file(const std::string& path) {
  for (const Problem& p : read_problem_file(path).problems) add(p);
}

Problem make_unseen(const Task& task, uint64_t seed, uint64_t index, const HeldOutSet& held_out) {
  constexpr uint64_t kReplacementStride = uint64_t{1} << 40;
  constexpr int kMaxReplacements = 1000;
  Problem problem = task.make(seed, index);
  for (int k = 1; held_out.contains(problem); ++k) {
    if (k > kMaxReplacements)
      fail("task ", task.name(), ": ", kMaxReplacements, " problems in a row are held out (", held_out.size(),
           " held-out prompts); the task's difficulty range has too few problems for this held-out set");
    problem = task.make(seed, index + static_cast<uint64_t>(k) * kReplacementStride);
  }
  return problem;
}

}  // namespace frugal::rl
