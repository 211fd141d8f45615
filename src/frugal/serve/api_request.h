#pragma once
// The body of an OpenAI-style request (POST /v1/chat/completions or
// /v1/completions), checked field by field: a field of the wrong type or out
// of range is a 400 that names it in `param`; unknown fields are ignored.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/generate/sampler.h"
#include "frugal/tokenizer/chat_format.h"
#include "frugal/serve/tool_calls.h"
#include "frugal/tokenizer/tokenizer.h"

namespace frugal::serve {

// What the server serves, and the limits a request must keep.
struct ServedModel {
  std::string name;
  const Tokenizer* tokenizer = nullptr;
  ChatFormat chat_format = ChatFormat::DeepSeekV3;
  int64_t context = 4096;
  std::vector<int32_t> stop_tokens;  // end-of-sequence ids
  int max_choices = 16;              // n
  int max_stop_strings = 16;
  std::size_t max_stop_length = 256;  // bytes
};

struct ApiRequest {
  bool chat = true;
  std::vector<int32_t> prompt;
  std::string prompt_text;  // the prompt as text (echo)
  bool stream = false;
  bool include_usage = false;
  int n = 1;
  int64_t max_tokens = 0;  // resolved: given, or what the context leaves
  SamplingParams sampling;
  std::vector<std::string> stop;
  int top_logprobs = -1;  // -1: no logprobs
  bool echo = false;
  bool reasoning = false;        // split <think> reasoning from the answer
  bool opens_reasoning = false;  // the prompt opened <think>
  ToolRequest tools;             // chat: the functions offered, and how
  std::string reply_prefix;      // text the prompt ends with that belongs to the reply (a forced tool call)
};

ApiRequest parse_chat_request(const nlohmann::json& body, const ServedModel& served);
ApiRequest parse_completion_request(const nlohmann::json& body, const ServedModel& served);

// The request body as JSON (400 naming the position of a syntax error).
nlohmann::json parse_body(const std::string& body);

}  // namespace frugal::serve
