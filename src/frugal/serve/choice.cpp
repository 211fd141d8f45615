#include "frugal/serve/choice.h"

namespace frugal::serve {

Choice::Choice(int index, const ApiRequest& request)
    : index_(index),
      reasoning_enabled_(request.reasoning),
      splitter_(request.opens_reasoning, [this](ReplyPart part, std::string_view text) {
        (part == ReplyPart::Reasoning ? reasoning_ : content_) += text;
        if (sink_ == nullptr) return;
        if (!sink_->empty() && sink_->back().part == part && pending_logprobs_.empty()) {
          sink_->back().text += text;
          return;
        }
        sink_->push_back({part, std::string(text), std::move(pending_logprobs_)});
        pending_logprobs_.clear();
      }) {}

void Choice::push_text(const std::string& text, std::vector<ChoiceDelta>* deltas) {
  sink_ = deltas;
  if (reasoning_enabled_) {
    splitter_.push(text);
  } else if (!text.empty()) {
    content_ += text;
    if (deltas != nullptr) {
      deltas->push_back({ReplyPart::Answer, text, std::move(pending_logprobs_)});
      pending_logprobs_.clear();
    }
  }
  sink_ = nullptr;
}

void Choice::apply(SequenceEvent& event, std::vector<ChoiceDelta>* deltas) {
  if (ended_) return;
  if (event.logprob) {
    logprobs_.push_back(*event.logprob);
    pending_logprobs_.push_back(*event.logprob);
  }
  const bool was_reasoning = reasoning_enabled_ && splitter_.in_reasoning();
  push_text(event.text, deltas);
  if (event.kind == SequenceEvent::Kind::Token) {
    if (was_reasoning || (reasoning_enabled_ && splitter_.in_reasoning())) ++reasoning_tokens_;
    return;
  }
  if (reasoning_enabled_) {
    sink_ = deltas;
    splitter_.flush();
    sink_ = nullptr;
  }
  // Logprobs of tokens that released no text travel with an empty delta.
  if (deltas != nullptr && !pending_logprobs_.empty()) deltas->push_back({ReplyPart::Answer, "", std::move(pending_logprobs_)});
  pending_logprobs_.clear();
  ended_ = true;
  stop_reason_ = event.stop_reason;
  usage_ = event.usage;
  if (event.kind == SequenceEvent::Kind::Failed) error_ = event.error.empty() ? "generation failed" : event.error;
}

std::string Choice::finish_reason() const {
  switch (stop_reason_) {
    case StopReason::EndToken:
    case StopReason::StopString: return "stop";
    case StopReason::Interrupted: return "abort";
    default: return "length";
  }
}

}  // namespace frugal::serve
