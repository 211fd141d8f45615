#pragma once
// The R1-Zero prompt and completion format.
//
// Templates turn a problem's prompt into the text the model continues:
//   r1-zero: the DeepSeek-R1-Zero paper's sentence, "... User: {prompt}.
//            Assistant:"; the completion starts with " <think>".
//   compact: "{prompt}\n", so a tiny model spends no context on
//            instructions; the completion starts with "<think>".
//
// A completion is well formed when it is exactly
//   ws* "<think>" R "</think>" ws* "<answer>" A "</answer>" ws*
// where ws is a space, tab, CR or LF; R and A contain none of the four tags
// <think> </think> <answer> </answer> (tags are exact and case-sensitive;
// "<think >" or "<Think>" are plain text, so they may appear inside R or A but
// not outside the blocks); R may be empty (or only whitespace); A must hold
// something besides whitespace.
//
// The answer, well formed or not, is the text between the first "<answer>"
// and the first "</answer>" after it, trimmed; a completion without such a
// pair has none. Generation stops at the first "</answer>" (evaluate.h), so
// the answer graded is the one the model committed to first.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace frugal::rl {

enum class PromptTemplate { R1Zero, Compact };

// "r1-zero", "compact".
std::vector<std::string> prompt_template_names();
// Fails naming the known templates.
PromptTemplate parse_prompt_template(std::string_view name);
const char* to_string(PromptTemplate t);

// The text given to the model for a problem's prompt.
std::string render_prompt(PromptTemplate t, std::string_view problem_prompt);
// The completion text that follows render_prompt() for a worked solution
// ("<think> ... </answer>"): r1-zero puts a space after "Assistant:". For
// supervised fine-tuning, encode the prompt and this separately and join the
// ids, so the token boundary is the one the model sees when generating.
std::string render_completion(PromptTemplate t, std::string_view worked_solution);

struct ParsedCompletion {
  bool well_formed = false;
  std::optional<std::string> answer;  // trimmed text of the first answer block
};

ParsedCompletion parse_completion(std::string_view completion);

}  // namespace frugal::rl
