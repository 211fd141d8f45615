#pragma once
// Reasoning problems whose answers a rule can check, for supervised
// fine-tuning (worked solutions), GRPO rewards and `frugal eval`.
//
// A Verifier checks answers; a Task also makes problems (a pure function of
// seed, index and difficulty, so `--n 500 --seed 7` always gives the same 500
// problems) and writes a worked solution in the completion format of
// prompt_format.h. Problems read from a file have a verifier but no task.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace frugal::rl {

struct Problem {
  std::string prompt;  // the question alone; prompt_format.h wraps it in a template
  std::string answer;  // canonical answer text (countdown: the target number)
  std::string id;      // "add/s7/i12/d3" = task, seed, index, difficulty; "FILE:3" for line 3 of a file
  // The numbers a verifier needs beside the answer (countdown: the numbers
  // that may be used); empty for tasks that need none.
  std::vector<int64_t> numbers;
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual std::string name() const = 0;
  // Whether `answer` (the text extracted from the answer block, any
  // surrounding whitespace allowed) solves `problem`. Never throws on any
  // input text.
  virtual bool verify(const Problem& problem, std::string_view answer) const = 0;
  // A score in [0, 1] for nearly right answers; 1 exactly when verify() is
  // true. The default gives no partial credit.
  virtual double partial_credit(const Problem& problem, std::string_view answer) const {
    return verify(problem, answer) ? 1.0 : 0.0;
  }
};

// What generated tasks may be asked for; make_task() rejects options a task
// does not use, so a mistyped flag never goes unnoticed.
struct TaskOptions {
  // add, sub, mul: digits of the longer operand, drawn uniformly per problem.
  std::optional<int> min_digits{}, max_digits{};
  // countdown: how many numbers are given, drawn uniformly per problem...
  std::optional<int> min_numbers{}, max_numbers{};
  // ...and the largest of them (each is drawn from 1..max_number).
  std::optional<int64_t> max_number{};
};

class Task : public Verifier {
 public:
  // The range difficulty() draws from (arithmetic: digits; countdown: numbers given).
  virtual int min_difficulty() const = 0;
  virtual int max_difficulty() const = 0;

  // Problem `index` of the stream seeded by `seed`, at a difficulty drawn
  // uniformly from [min_difficulty, max_difficulty] by the same seed and index.
  Problem make(uint64_t seed, uint64_t index) const;
  // The difficulty make(seed, index) uses.
  int difficulty(uint64_t seed, uint64_t index) const;
  // Problem `index` of the stream seeded by `seed` at a given difficulty
  // (inside the task's limits, else frugal::Error).
  virtual Problem make_at_difficulty(uint64_t seed, uint64_t index, int difficulty) const = 0;

  // A short reasoning trace and the answer, "<think> ... </think> <answer>
  // ... </answer>", for supervised fine-tuning; it always verifies.
  virtual std::string worked_solution(const Problem& problem) const = 0;
};

}  // namespace frugal::rl
