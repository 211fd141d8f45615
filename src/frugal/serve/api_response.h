#pragma once
// The JSON OpenAI clients read: chat.completion and text_completion objects,
// their streamed chunks, usage with DeepSeek's prompt-cache fields, and
// logprobs in each endpoint's shape.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/serve/choice.h"
#include "frugal/tokenizer/tokenizer.h"

namespace frugal::serve {

// Identity of one response: shared by all its chunks.
struct ResponseHeader {
  std::string id;  // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;
  std::string model;
};

ResponseHeader new_response_header(bool chat, const std::string& model);

// prompt, completion and total tokens, prompt_cache_hit/miss_tokens (and
// OpenAI's prompt_tokens_details.cached_tokens), reasoning tokens.
nlohmann::json usage_json(const std::vector<Choice>& choices);

nlohmann::json chat_completion_json(const ResponseHeader& header, const std::vector<Choice>& choices,
                                    const ApiRequest& request, const Tokenizer& tokenizer);
// One chunk of a chat stream; `delta` already built (role, reasoning_content
// or content); finish_reason null unless given.
nlohmann::json chat_chunk_json(const ResponseHeader& header, int index, nlohmann::json delta,
                               const std::vector<TokenLogprob>* logprobs, const Tokenizer& tokenizer,
                               const std::string& finish_reason = "");

nlohmann::json text_completion_json(const ResponseHeader& header, const std::vector<Choice>& choices,
                                    const ApiRequest& request, const Tokenizer& tokenizer);
nlohmann::json text_chunk_json(const ResponseHeader& header, int index, const std::string& text,
                               const std::vector<TokenLogprob>* logprobs, const Tokenizer& tokenizer,
                               const std::string& finish_reason = "");

// OpenAI's tool_calls entries ({"index"?, "id", "type", "function": {"name",
// "arguments"}}) for calls numbered from `first_index`; ids derive from the
// response id, so a stream and its final state agree.
nlohmann::json tool_calls_json(const ResponseHeader& header, int choice, const std::vector<ToolCall>& calls,
                               int first_index, bool with_index);

// A chunk with no choices and the usage (stream_options.include_usage).
nlohmann::json usage_chunk_json(const ResponseHeader& header, bool chat, const std::vector<Choice>& choices);

}  // namespace frugal::serve
