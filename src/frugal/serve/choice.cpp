#include "frugal/serve/choice.h"

namespace frugal::serve {
namespace {

ChoiceDelta text_delta(ReplyPart part, std::string_view text) {
  ChoiceDelta d;
  d.part = part;
  d.text = text;
  return d;
}

}  // namespace

Choice::Choice(int index, const ApiRequest& request)
    : index_(index),
      reasoning_enabled_(request.reasoning),
      splitter_(request.opens_reasoning, [this](ReplyPart part, std::string_view text) { release(part, text); }) {
  if (request.tools.active()) {
    tool_parser_.emplace();
    std::vector<ToolCall> none;
    tool_parser_->push(request.reply_prefix, none);  // a forced call's opening, written by the prompt
  }
}

void Choice::add_delta(ChoiceDelta delta) {
  if (sink_ == nullptr) return;
  delta.logprobs = std::move(pending_logprobs_);
  pending_logprobs_.clear();
  ChoiceDelta* last = sink_->empty() ? nullptr : &sink_->back();
  if (last != nullptr && delta.tool_calls.empty() && last->tool_calls.empty() && last->part == delta.part) {
    last->text += delta.text;
    last->logprobs.insert(last->logprobs.end(), delta.logprobs.begin(), delta.logprobs.end());
    return;
  }
  sink_->push_back(std::move(delta));
}

// Reasoning and plain answers leave as text; with tools offered the answer
// passes the tool-call parser first.
void Choice::release(ReplyPart part, std::string_view text) {
  if (part == ReplyPart::Reasoning) {
    reasoning_ += text;
    add_delta(text_delta(part, text));
    return;
  }
  std::string content(text);
  std::vector<ToolCall> calls;
  if (tool_parser_) content = tool_parser_->push(text, calls);
  if (!content.empty()) {
    content_ += content;
    add_delta(text_delta(ReplyPart::Answer, content));
  }
  if (!calls.empty()) {
    const int first = static_cast<int>(calls_.size());
    calls_.insert(calls_.end(), calls.begin(), calls.end());
    ChoiceDelta d;
    d.tool_calls = std::move(calls);
    d.first_call_index = first;
    add_delta(std::move(d));
  }
}

void Choice::apply(SequenceEvent& event, std::vector<ChoiceDelta>* deltas) {
  if (ended_) return;
  sink_ = deltas;
  if (event.logprob) {
    logprobs_.push_back(*event.logprob);
    pending_logprobs_.push_back(*event.logprob);
  }
  const bool was_reasoning = reasoning_enabled_ && splitter_.in_reasoning();
  if (reasoning_enabled_) {
    splitter_.push(event.text);
  } else if (!event.text.empty()) {
    release(ReplyPart::Answer, event.text);
  }
  if (event.kind == SequenceEvent::Kind::Token) {
    if (was_reasoning || (reasoning_enabled_ && splitter_.in_reasoning())) ++reasoning_tokens_;
    sink_ = nullptr;
    return;
  }
  if (reasoning_enabled_) splitter_.flush();
  if (tool_parser_) {
    const std::string rest = tool_parser_->flush();
    if (!rest.empty()) {
      content_ += rest;
      add_delta(text_delta(ReplyPart::Answer, rest));
    }
  }
  // Logprobs of tokens that released no text travel with an empty delta.
  if (!pending_logprobs_.empty()) add_delta(text_delta(ReplyPart::Answer, ""));
  sink_ = nullptr;
  pending_logprobs_.clear();
  ended_ = true;
  stop_reason_ = event.stop_reason;
  usage_ = event.usage;
  if (event.kind == SequenceEvent::Kind::Failed) error_ = event.error.empty() ? "generation failed" : event.error;
}

std::string Choice::finish_reason() const {
  if (!calls_.empty() && (stop_reason_ == StopReason::EndToken || stop_reason_ == StopReason::StopString)) return "tool_calls";
  switch (stop_reason_) {
    case StopReason::EndToken:
    case StopReason::StopString: return "stop";
    case StopReason::Interrupted: return "abort";
    default: return "length";
  }
}

}  // namespace frugal::serve
