#include "frugal/rl/prompt_format.h"

#include "frugal/core/error.h"
#include "frugal/rl/answer_match.h"

namespace frugal::rl {
namespace {

constexpr std::string_view kThinkOpen = "<think>", kThinkClose = "</think>";
constexpr std::string_view kAnswerOpen = "<answer>", kAnswerClose = "</answer>";

bool has_tag(std::string_view text) {
  for (std::string_view tag : {kThinkOpen, kThinkClose, kAnswerOpen, kAnswerClose})
    if (text.find(tag) != std::string_view::npos) return true;
  return false;
}

bool only_whitespace(std::string_view text) {
  for (char c : text)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  return true;
}

std::string_view skip_whitespace(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && only_whitespace(text.substr(i, 1))) ++i;
  return text.substr(i);
}

bool is_well_formed(std::string_view c) {
  c = skip_whitespace(c);
  if (!c.starts_with(kThinkOpen)) return false;
  c.remove_prefix(kThinkOpen.size());
  const std::size_t think_end = c.find(kThinkClose);
  if (think_end == std::string_view::npos || has_tag(c.substr(0, think_end))) return false;
  c = skip_whitespace(c.substr(think_end + kThinkClose.size()));
  if (!c.starts_with(kAnswerOpen)) return false;
  c.remove_prefix(kAnswerOpen.size());
  const std::size_t answer_end = c.find(kAnswerClose);
  if (answer_end == std::string_view::npos) return false;
  const std::string_view answer = c.substr(0, answer_end);
  if (has_tag(answer) || only_whitespace(answer)) return false;
  return only_whitespace(c.substr(answer_end + kAnswerClose.size()));
}

}  // namespace

std::vector<std::string> prompt_template_names() { return {"r1-zero", "compact"}; }

PromptTemplate parse_prompt_template(std::string_view name) {
  if (name == "r1-zero") return PromptTemplate::R1Zero;
  if (name == "compact") return PromptTemplate::Compact;
  fail("unknown prompt template \"", name, "\" (known: r1-zero, compact)");
}

const char* to_string(PromptTemplate t) { return t == PromptTemplate::R1Zero ? "r1-zero" : "compact"; }

std::string render_prompt(PromptTemplate t, std::string_view problem_prompt) {
  if (t == PromptTemplate::Compact) return std::string(problem_prompt) + "\n";
  return "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
         "The assistant first thinks about the reasoning process in the mind and then provides the user with "
         "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
         "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
         "</answer>. User: " +
         std::string(problem_prompt) + ". Assistant:";
}

std::string render_completion(PromptTemplate t, std::string_view worked_solution) {
  std::string out(t == PromptTemplate::R1Zero ? " " : "");
  return out.append(worked_solution);
}

ParsedCompletion parse_completion(std::string_view completion) {
  ParsedCompletion parsed;
  parsed.well_formed = is_well_formed(completion);
  const std::size_t open = completion.find(kAnswerOpen);
  if (open != std::string_view::npos) {
    const std::size_t start = open + kAnswerOpen.size();
    const std::size_t close = completion.find(kAnswerClose, start);
    if (close != std::string_view::npos) parsed.answer = std::string(trim(completion.substr(start, close - start)));
  }
  return parsed;
}

}  // namespace frugal::rl
