#pragma once
// One choice of a completion as its sequence's events arrive: the text
// split into reasoning (R1-style <think>), answer and tool calls, the deltas
// a stream sends, the logprobs, the finish reason and the token counts.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frugal/generate/reasoning.h"
#include "frugal/serve/api_request.h"
#include "frugal/serve/sequence_stream.h"
#include "frugal/serve/tool_calls.h"

namespace frugal::serve {

struct ChoiceDelta {
  ReplyPart part = ReplyPart::Answer;
  std::string text;
  std::vector<ToolCall> tool_calls;  // completed calls (instead of text)
  int first_call_index = 0;          // index of tool_calls[0] among the choice's calls
  std::vector<TokenLogprob> logprobs;  // the tokens whose text this delta completes
};

class Choice {
 public:
  Choice(int index, const ApiRequest& request);

  // Applies one event; what it releases goes to `deltas` (when given).
  void apply(SequenceEvent& event, std::vector<ChoiceDelta>* deltas);

  int index() const { return index_; }
  bool ended() const { return ended_; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  const SequenceUsage& usage() const { return usage_; }
  int64_t reasoning_tokens() const { return reasoning_tokens_; }
  // "stop", "length", "tool_calls", or "abort" (the server shut down first).
  std::string finish_reason() const;

  const std::string& content() const { return content_; }
  const std::string& reasoning_content() const { return reasoning_; }
  const std::vector<ToolCall>& tool_calls() const { return calls_; }
  const std::vector<TokenLogprob>& logprobs() const { return logprobs_; }

 private:
  void release(ReplyPart part, std::string_view text);
  void add_delta(ChoiceDelta delta);

  int index_;
  bool reasoning_enabled_;
  ReasoningSplitter splitter_;
  std::optional<ToolCallParser> tool_parser_;  // when tools are offered
  std::vector<ChoiceDelta>* sink_ = nullptr;   // deltas of the current apply()
  std::vector<TokenLogprob> pending_logprobs_;
  std::string content_, reasoning_;
  std::vector<ToolCall> calls_;
  std::vector<TokenLogprob> logprobs_;
  int64_t reasoning_tokens_ = 0;
  bool ended_ = false;
  StopReason stop_reason_ = StopReason::MaxTokens;
  SequenceUsage usage_;
  std::string error_;
};

}  // namespace frugal::serve
