// Held-out problems never reach a training stream: make_unseen() replaces
// them deterministically, and fails clearly when the task has too few problems.
#include "frugal/rl/held_out.h"

#include <gtest/gtest.h>

#include <set>

#include "frugal/core/error.h"
#include "frugal/rl/task_registry.h"

namespace frugal::rl {
namespace {

TEST(HeldOut, HeldOutProblemsAreReplacedDeterministically) {
  // One-digit additions: 100 possible prompts, so two seeds' streams collide.
  const std::unique_ptr<Task> task = make_task("add", {.min_digits = 1, .max_digits = 1});
  HeldOutSet held_out;
  for (uint64_t i = 0; i < 40; ++i) held_out.add(task->make(1000003, i));
  ASSERT_GT(held_out.size(), 25u);

  int replaced = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    const Problem plain = task->make(0, i);
    const Problem unseen = make_unseen(*task, 0, i, held_out);
    EXPECT_FALSE(held_out.contains(unseen)) << unseen.prompt;
    EXPECT_TRUE(task->verify(unseen, unseen.answer));
    if (held_out.contains(plain)) {
      ++replaced;
    } else {
      EXPECT_EQ(unseen.prompt, plain.prompt) << "problems outside the set are kept as they are";
    }
    EXPECT_EQ(make_unseen(*task, 0, i, held_out).prompt, unseen.prompt) << "the same replacement every time";
  }
  EXPECT_GT(replaced, 0) << "the test must exercise replacement";
}

TEST(HeldOut, FailsClearlyWhenEveryProblemIsHeldOut) {
  const std::unique_ptr<Task> task = make_task("add", {.min_digits = 1, .max_digits = 1});
  HeldOutSet held_out;
  for (uint64_t i = 0; i < 5000; ++i) held_out.add(task->make(1, i));
  ASSERT_EQ(held_out.size(), 100u) << "all one-digit additions";
  try {
    make_unseen(*task, 0, 0, held_out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("held out"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal::rl
