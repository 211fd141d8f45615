#include "frugal/generate/reasoning.h"


#include "frugal/generate/text_match.h"

namespace frugal {
namespace {
constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";
}  // namespace

void ReasoningSplitter::release(std::string_view text) {
  if (!text.empty()) sink_(in_reasoning_ ? ReplyPart::Reasoning : ReplyPart::Answer, text);
}

void ReasoningSplitter::push(std::string_view text) {
  pending_ += text;
  for (;;) {
    if (in_reasoning_) {
      const auto at = pending_.find(kClose);
      if (at == std::string::npos) {
        const std::size_t hold = partial_marker_suffix(pending_, kClose);
        release(std::string_view(pending_).substr(0, pending_.size() - hold));
        pending_.erase(0, pending_.size() - hold);
        return;
      }
      release(std::string_view(pending_).substr(0, at));
      pending_.erase(0, at + kClose.size());
      in_reasoning_ = false;
      answer_started_ = false;
      continue;
    }
    if (answer_started_) {
      release(pending_);
      pending_.clear();
      return;
    }
    // Before any answer text, a reply may open its reasoning with <think>.
    const auto first = pending_.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return;  // only whitespace so far
    const std::string_view rest = std::string_view(pending_).substr(first);
    if (rest.substr(0, kOpen.size()) == kOpen) {
      pending_.erase(0, first + kOpen.size());
      in_reasoning_ = true;
      continue;
    }
    if (kOpen.substr(0, rest.size()) == rest) return;  // "<thi" so far: wait
    answer_started_ = true;
  }
}

void ReasoningSplitter::flush() {
  release(pending_);
  pending_.clear();
}

std::pair<std::string, std::string> split_reasoning(std::string_view reply, bool in_reasoning) {
  std::pair<std::string, std::string> parts;
  ReasoningSplitter splitter(in_reasoning, [&](ReplyPart part, std::string_view text) {
    (part == ReplyPart::Reasoning ? parts.first : parts.second) += text;
  });
  splitter.push(reply);
  splitter.flush();
  return parts;
}

}  // namespace frugal
