#pragma once
// Separates R1-style output into reasoning and answer as it streams: text
// before </think> is reasoning (when the prompt opened <think>, or the model
// starts its reply with <think>), the rest is the answer. A marker split
// across chunks is recognised; the markers themselves are not passed on.
#include <functional>
#include <string>
#include <string_view>

namespace frugal {

enum class ReplyPart { Reasoning, Answer };

class ReasoningSplitter {
 public:
  using Sink = std::function<void(ReplyPart, std::string_view)>;
  // `in_reasoning`: the prompt already opened <think>.
  ReasoningSplitter(bool in_reasoning, Sink sink) : in_reasoning_(in_reasoning), sink_(std::move(sink)) {}

  void push(std::string_view text);
  void flush();
  bool in_reasoning() const { return in_reasoning_; }

 private:
  void release(std::string_view text);

  bool in_reasoning_;
  bool answer_started_ = false;  // <think> opens reasoning only before any answer text
  Sink sink_;
  std::string pending_;
};

// Splits a finished reply: {reasoning, answer}.
std::pair<std::string, std::string> split_reasoning(std::string_view reply, bool in_reasoning);

}  // namespace frugal
