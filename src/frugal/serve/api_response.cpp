#include "frugal/serve/api_response.h"

#include <chrono>
#include <random>

namespace frugal::serve {
namespace {

using nlohmann::json;

// A token's text for logprobs: its bytes as UTF-8 where they are whole
// characters (invalid pieces replaced), and the raw bytes beside it.
json token_json(int32_t id, float logprob, const Tokenizer& t) {
  const std::string& bytes = t.token_bytes(id);
  json byte_list = json::array();
  for (unsigned char b : bytes) byte_list.push_back(static_cast<int>(b));
  return {{"token", t.decode({id})}, {"logprob", logprob}, {"bytes", byte_list}};
}

json chat_logprobs_json(const std::vector<TokenLogprob>& logprobs, const Tokenizer& t) {
  json content = json::array();
  for (const TokenLogprob& lp : logprobs) {
    json entry = token_json(lp.token, lp.logprob, t);
    json top = json::array();
    for (const auto& [id, value] : lp.top) top.push_back(token_json(id, value, t));
    entry["top_logprobs"] = top;
    content.push_back(entry);
  }
  return {{"content", content}};
}

json text_logprobs_json(const std::vector<TokenLogprob>& logprobs, const Tokenizer& t, std::size_t first_offset) {
  json tokens = json::array(), values = json::array(), tops = json::array(), offsets = json::array();
  std::size_t offset = first_offset;
  for (const TokenLogprob& lp : logprobs) {
    const std::string text = t.decode({lp.token});
    tokens.push_back(text);
    values.push_back(lp.logprob);
    json top = json::object();
    for (const auto& [id, value] : lp.top) top[t.decode({id})] = value;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += text.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json finish_json(const std::string& reason) { return reason.empty() ? json(nullptr) : json(reason); }

}  // namespace

ResponseHeader new_response_header(bool chat, const std::string& model) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string id = chat ? "chatcmpl-" : "cmpl-";
  for (int i = 0; i < 24; ++i) id += kDigits[rng() % 36];
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {id, std::chrono::duration_cast<std::chrono::seconds>(now).count(), model};
}

json tool_calls_json(const ResponseHeader& h, int choice, const std::vector<ToolCall>& calls, int first_index,
                    bool with_index) {
  json out = json::array();
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const int index = first_index + static_cast<int>(i);
    json call = {{"id", "call_" + h.id.substr(h.id.find('-') + 1) + "_" + std::to_string(choice) + "_" + std::to_string(index)},
                 {"type", calls[i].type.empty() ? "function" : calls[i].type},
                 {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    if (with_index) call["index"] = index;
    out.push_back(std::move(call));
  }
  return out;
}

json usage_json(const std::vector<Choice>& choices) {
  // The prompt is counted once, as OpenAI does for n > 1; the cache figures
  // are the first choice's (the others ran beside it).
  const SequenceUsage& first = choices.front().usage();
  int64_t completion = 0, reasoning = 0;
  for (const Choice& c : choices) {
    completion += c.usage().completion_tokens;
    reasoning += c.reasoning_tokens();
  }
  return {{"prompt_tokens", first.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", first.prompt_tokens + completion},
          {"prompt_cache_hit_tokens", first.cached_prompt_tokens},
          {"prompt_cache_miss_tokens", first.prompt_tokens - first.cached_prompt_tokens},
          {"prompt_tokens_details", {{"cached_tokens", first.cached_prompt_tokens}}},
          {"completion_tokens_details", {{"reasoning_tokens", reasoning}}}};
}

json chat_completion_json(const ResponseHeader& h, const std::vector<Choice>& choices, const ApiRequest& request,
                          const Tokenizer& t) {
  json out_choices = json::array();
  for (const Choice& c : choices) {
    json message = {{"role", "assistant"}, {"content", c.content()}};
    if (request.reasoning) message["reasoning_content"] = c.reasoning_content();
    if (!c.tool_calls().empty()) {
      message["tool_calls"] = tool_calls_json(h, c.index(), c.tool_calls(), 0, false);
      if (c.content().empty()) message["content"] = nullptr;
    }
    out_choices.push_back({{"index", c.index()},
                           {"message", message},
                           {"logprobs", request.top_logprobs >= 0 ? chat_logprobs_json(c.logprobs(), t) : json(nullptr)},
                           {"finish_reason", c.finish_reason()}});
  }
  return {{"id", h.id},           {"object", "chat.completion"}, {"created", h.created},
          {"model", h.model},     {"choices", out_choices},      {"usage", usage_json(choices)},
          {"system_fingerprint", "frugal"}};
}

json chat_chunk_json(const ResponseHeader& h, int index, json delta, const std::vector<TokenLogprob>* logprobs,
                     const Tokenizer& t, const std::string& finish_reason) {
  json choice = {{"index", index},
                 {"delta", std::move(delta)},
                 {"logprobs", logprobs != nullptr ? chat_logprobs_json(*logprobs, t) : json(nullptr)},
                 {"finish_reason", finish_json(finish_reason)}};
  return {{"id", h.id},       {"object", "chat.completion.chunk"}, {"created", h.created},
          {"model", h.model}, {"system_fingerprint", "frugal"},    {"choices", json::array({choice})}};
}

json text_completion_json(const ResponseHeader& h, const std::vector<Choice>& choices, const ApiRequest& request,
                          const Tokenizer& t) {
  json out_choices = json::array();
  for (const Choice& c : choices) {
    const std::string prefix = request.echo ? request.prompt_text : "";
    out_choices.push_back(
        {{"index", c.index()},
         {"text", prefix + c.content()},
         {"logprobs", request.top_logprobs >= 0 ? text_logprobs_json(c.logprobs(), t, prefix.size()) : json(nullptr)},
         {"finish_reason", c.finish_reason()}});
  }
  return {{"id", h.id},       {"object", "text_completion"}, {"created", h.created},
          {"model", h.model}, {"choices", out_choices},      {"usage", usage_json(choices)},
          {"system_fingerprint", "frugal"}};
}

json text_chunk_json(const ResponseHeader& h, int index, const std::string& text, const std::vector<TokenLogprob>* logprobs,
                     const Tokenizer& t, const std::string& finish_reason) {
  json choice = {{"index", index},
                 {"text", text},
                 {"logprobs", logprobs != nullptr ? text_logprobs_json(*logprobs, t, 0) : json(nullptr)},
                 {"finish_reason", finish_json(finish_reason)}};
  return {{"id", h.id},       {"object", "text_completion"}, {"created", h.created},
          {"model", h.model}, {"system_fingerprint", "frugal"}, {"choices", json::array({choice})}};
}

json usage_chunk_json(const ResponseHeader& h, bool chat, const std::vector<Choice>& choices) {
  return {{"id", h.id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", h.created},
          {"model", h.model},
          {"system_fingerprint", "frugal"},
          {"choices", json::array()},
          {"usage", usage_json(choices)}};
}

}  // namespace frugal::serve
