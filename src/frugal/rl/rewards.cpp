#include "frugal/rl/rewards.h"

#include "frugal/core/error.h"

namespace frugal::rl {

double accuracy_reward(const Verifier& verifier, const Problem& problem, const ParsedCompletion& completion) {
  return completion.answer && verifier.verify(problem, *completion.answer) ? 1.0 : 0.0;
}

double format_reward(const Verifier&, const Problem&, const ParsedCompletion& completion) {
  return completion.well_formed ? 1.0 : 0.0;
}

double partial_reward(const Verifier& verifier, const Problem& problem, const ParsedCompletion& completion) {
  if (!completion.well_formed || !completion.answer) return 0.0;
  return verifier.partial_credit(problem, *completion.answer);
}

std::vector<Reward> rewards(const RewardWeights& w) {
  return {
      {"accuracy", accuracy_reward, w.accuracy},
      {"format", format_reward, w.format},
      {"partial", partial_reward, w.partial},
  };
}

double RewardScore::value(std::string_view name) const {
  for (const RewardComponent& c : components)
    if (c.name == name) return c.value;
  fail("no reward named \"", name, "\" in this score");
}

RewardScore score_completion(const std::vector<Reward>& rewards, const Verifier& verifier, const Problem& problem,
                             std::string_view completion) {
  const ParsedCompletion parsed = parse_completion(completion);
  RewardScore score;
  for (const Reward& r : rewards) {
    const double value = r.function(verifier, problem, parsed);
    score.components.push_back({r.name, value, r.weight});
    score.total += r.weight * value;
  }
  return score;
}

}  // namespace frugal::rl
