#pragma once
// Keeping evaluation problems out of training. A held-out set is the prompts
// of an evaluation's problems; generated streams (SFT data, pre-training
// text, GRPO rollouts) then skip any problem whose prompt is in it, so a
// held-out accuracy is measured on problems no stage trained on, even for
// tasks whose problem space is small enough for seeds to collide.
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "frugal/rl/task.h"

namespace frugal::rl {

class HeldOutSet {
 public:
  void add(const Problem& problem) { prompts_.insert(problem.prompt); }
  // Every problem of a JSONL problems file (problem_file.h; malformed lines are errors).
  void add_file(const std::string& path);
  bool contains(const Problem& problem) const { return prompts_.count(problem.prompt) != 0; }
  std::size_t size() const { return prompts_.size(); }

 private:
  std::unordered_set<std::string> prompts_;
};

// Problem `index` of `task`'s stream under `seed`; when it is held out, a
// replacement drawn deterministically from indices far beyond any stream's
// use (index + k * 2^40, k = 1, 2, ...), so resumed runs see the same
// problems. Fails, naming the task, when 1000 replacements in a row are held
// out (the held-out set covers nearly all of the task's problems).
Problem make_unseen(const Task& task, uint64_t seed, uint64_t index, const HeldOutSet& held_out);

}  // namespace frugal::rl
