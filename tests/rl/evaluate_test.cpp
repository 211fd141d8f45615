// evaluate() with scripted engines: an oracle that answers with the worked
// solutions scores 100% under both templates, wrong and sloppy answers are
// graded apart, and an engine returning the wrong count is an error.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/rl/evaluate.h"
#include "frugal/rl/task_registry.h"

namespace frugal::rl {
namespace {

// Answers each rendered prompt from a table; records what it was asked.
class ScriptedEngine final : public CompletionEngine {
 public:
  std::map<std::string, std::string> answers;
  std::vector<std::string> asked;
  bool drop_one = false;

  std::vector<Completion> complete(const std::vector<std::string>& prompts) override {
    std::vector<Completion> out;
    for (const std::string& p : prompts) {
      asked.push_back(p);
      out.push_back({answers.at(p), 7, "stop_string"});
    }
    if (drop_one) out.pop_back();
    return out;
  }
};

TEST(Evaluate, WorkedSolutionsScoreFullMarksUnderBothTemplates) {
  for (const PromptTemplate t : {PromptTemplate::Compact, PromptTemplate::R1Zero}) {
    for (const std::string& name : task_names()) {
      const auto task = make_task(name);
      std::vector<Problem> problems;
      ScriptedEngine engine;
      for (uint64_t i = 0; i < 20; ++i) {
        problems.push_back(task->make(9, i));
        engine.answers[render_prompt(t, problems.back().prompt)] =
            render_completion(t, task->worked_solution(problems.back()));
      }
      EvaluationOptions options;
      options.prompt_template = t;
      const Evaluation e = evaluate(problems, *task, engine, options);
      EXPECT_EQ(e.correct, 20) << name;
      EXPECT_EQ(e.well_formed, 20) << name;
      EXPECT_EQ(e.accuracy, 1.0);
      EXPECT_EQ(e.format_rate, 1.0);
      EXPECT_EQ(e.mean_completion_tokens, 7.0);
      EXPECT_EQ(e.accuracy_ci95.hi, 1.0);
      EXPECT_NEAR(e.accuracy_ci95.lo, 0.8388748, 1e-6);  // Wilson, 20 of 20
      EXPECT_EQ(engine.asked.size(), 20u);
      EXPECT_EQ(engine.asked[0], render_prompt(t, problems[0].prompt));
    }
  }
}

TEST(Evaluate, GradesAccuracyAndFormatApart) {
  const auto task = make_task("add");
  std::vector<Problem> problems = {task->make(1, 0), task->make(1, 1), task->make(1, 2), task->make(1, 3)};
  ScriptedEngine engine;
  auto prompt = [&](int i) { return render_prompt(PromptTemplate::Compact, problems[i].prompt); };
  engine.answers[prompt(0)] = "<think> ok </think> <answer> " + problems[0].answer + " </answer>";  // right
  engine.answers[prompt(1)] = "it is <answer> " + problems[1].answer + " </answer>";               // right, sloppy
  engine.answers[prompt(2)] = "<think> ok </think> <answer> -1 </answer>";                         // wrong, tidy
  engine.answers[prompt(3)] = "no idea";                                                            // neither
  const Evaluation e = evaluate(problems, *task, engine);
  EXPECT_EQ(e.correct, 2);
  EXPECT_EQ(e.well_formed, 2);
  EXPECT_TRUE(e.outcomes[1].correct);
  EXPECT_FALSE(e.outcomes[1].well_formed);
  EXPECT_EQ(e.outcomes[2].answer.value(), "-1");
  EXPECT_FALSE(e.outcomes[3].answer.has_value());

  engine.drop_one = true;
  EXPECT_THROW(evaluate(problems, *task, engine), Error);
}

}  // namespace
}  // namespace frugal::rl
