#pragma once
// Rewards checked by rules, for GRPO and evaluation. Each reward is a small
// function of (verifier, problem, parsed completion) to a number in [0, 1];
// the total is their weighted sum, with every component reported.
//
// To add a reward: write its function here, give RewardWeights a weight for
// it and add one line to rewards(), and it shows up in every score.
#include <string>
#include <string_view>
#include <vector>

#include "frugal/rl/prompt_format.h"
#include "frugal/rl/task.h"

namespace frugal::rl {

// 1 when the extracted answer verifies, else 0 (also 0 without an answer).
double accuracy_reward(const Verifier& verifier, const Problem& problem, const ParsedCompletion& completion);
// 1 when the completion is well formed (prompt_format.h), else 0.
double format_reward(const Verifier& verifier, const Problem& problem, const ParsedCompletion& completion);
// The verifier's partial credit (arithmetic: the fraction of right digits),
// only for well-formed completions so it never pays for a broken format.
double partial_reward(const Verifier& verifier, const Problem& problem, const ParsedCompletion& completion);

struct RewardWeights {
  double accuracy = 1.0;
  double format = 0.1;
  double partial = 0.0;
};

using RewardFunction = double (*)(const Verifier&, const Problem&, const ParsedCompletion&);

struct Reward {
  std::string name;  // "accuracy", "format", "partial"
  RewardFunction function;
  double weight;
};

// Every reward with its weight, in a fixed order; zero weights included, so
// the components are always reported.
std::vector<Reward> rewards(const RewardWeights& weights = {});

struct RewardComponent {
  std::string name;
  double value;   // the reward before weighting
  double weight;
};

struct RewardScore {
  double total = 0.0;  // sum of weight x value
  std::vector<RewardComponent> components;
  double value(std::string_view name) const;  // a component's value; fails for an unknown name
};

RewardScore score_completion(const std::vector<Reward>& rewards, const Verifier& verifier, const Problem& problem,
                             std::string_view completion);

}  // namespace frugal::rl
