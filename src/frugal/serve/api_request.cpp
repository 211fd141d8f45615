#include "frugal/serve/api_request.h"

#include <cmath>
#include <random>

#include "frugal/serve/api_error.h"

namespace frugal::serve {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& param, const std::string& message) { throw ApiError(400, message, param); }

// The field, or null when absent or JSON null (both mean "default").
const json* field(const json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

double number(const json& body, const char* name, double fallback, double lo, double hi) {
  const json* f = field(body, name);
  if (f == nullptr) return fallback;
  if (!f->is_number()) bad(name, std::string("'") + name + "' must be a number");
  const double v = f->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    bad(name, std::string("'") + name + "' must be between " + json(lo).dump() + " and " + json(hi).dump() +
                  ", got " + f->dump());
  return v;
}

std::optional<int64_t> integer(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* f = field(body, name);
  if (f == nullptr) return std::nullopt;
  const bool whole = f->is_number_integer() || (f->is_number_float() && std::floor(f->get<double>()) == f->get<double>() &&
                                                std::abs(f->get<double>()) < 9e15);
  if (!whole) bad(name, std::string("'") + name + "' must be an integer");
  const auto v = f->is_number_unsigned() && f->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                     ? INT64_MAX
                     : (f->is_number_float() ? static_cast<int64_t>(f->get<double>()) : f->get<int64_t>());
  if (v < lo || v > hi)
    bad(name, std::string("'") + name + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                  ", got " + f->dump());
  return v;
}

bool boolean(const json& body, const char* name) {
  const json* f = field(body, name);
  if (f == nullptr) return false;
  if (!f->is_boolean()) bad(name, std::string("'") + name + "' must be true or false");
  return f->get<bool>();
}

std::vector<std::string> stop_strings(const json& body, const ServedModel& served) {
  const json* f = field(body, "stop");
  std::vector<std::string> out;
  if (f == nullptr) return out;
  if (f->is_string()) {
    out.push_back(f->get<std::string>());
  } else if (f->is_array()) {
    for (const json& s : *f) {
      if (!s.is_string()) bad("stop", "'stop' must be a string or a list of strings");
      out.push_back(s.get<std::string>());
    }
  } else {
    bad("stop", "'stop' must be a string or a list of strings");
  }
  if (static_cast<int>(out.size()) > served.max_stop_strings)
    bad("stop", "at most " + std::to_string(served.max_stop_strings) + " stop strings, got " + std::to_string(out.size()));
  for (const std::string& s : out) {
    if (s.empty()) bad("stop", "stop strings must not be empty");
    if (s.size() > served.max_stop_length)
      bad("stop", "stop strings are limited to " + std::to_string(served.max_stop_length) + " bytes, got one of " +
                      std::to_string(s.size()));
  }
  return out;
}

// The fields chat and text completions share; the prompt is already set.
void parse_common(const json& body, const ServedModel& served, ApiRequest& r) {
  if (const json* model = field(body, "model")) {
    if (!model->is_string()) bad("model", "'model' must be a string");
    if (model->get<std::string>() != served.name)
      throw ApiError(404, "The model '" + model->get<std::string>() + "' does not exist; this server serves '" +
                              served.name + "'",
                     "model", "model_not_found");
  }
  r.stream = boolean(body, "stream");
  if (const json* options = field(body, "stream_options")) {
    if (!options->is_object()) bad("stream_options", "'stream_options' must be an object");
    if (const json* usage = field(*options, "include_usage")) {
      if (!usage->is_boolean()) bad("stream_options.include_usage", "'stream_options.include_usage' must be true or false");
      r.include_usage = usage->get<bool>();
    }
  }
  r.n = static_cast<int>(integer(body, "n", 1, served.max_choices).value_or(1));
  SamplingParams& s = r.sampling;
  s.temperature = static_cast<float>(number(body, "temperature", 1.0, 0.0, 2.0));
  s.top_p = static_cast<float>(number(body, "top_p", 1.0, 0.0, 1.0));
  if (s.top_p <= 0.0f) bad("top_p", "'top_p' must be greater than 0");
  const int64_t top_k = integer(body, "top_k", -1, 1 << 30).value_or(0);
  s.top_k = top_k < 0 ? 0 : static_cast<int>(top_k);  // -1: off, as in vLLM
  s.min_p = static_cast<float>(number(body, "min_p", 0.0, 0.0, 1.0));
  s.presence_penalty = static_cast<float>(number(body, "presence_penalty", 0.0, -2.0, 2.0));
  s.frequency_penalty = static_cast<float>(number(body, "frequency_penalty", 0.0, -2.0, 2.0));
  s.repetition_penalty = static_cast<float>(number(body, "repetition_penalty", 1.0, 1e-3, 100.0));
  const std::optional<int64_t> seed = integer(body, "seed", INT64_MIN, INT64_MAX);
  s.seed = seed ? static_cast<uint64_t>(*seed) : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  r.stop = stop_strings(body, served);

  const auto prompt = static_cast<int64_t>(r.prompt.size());
  if (prompt >= served.context)
    bad(r.chat ? "messages" : "prompt", "the prompt has " + std::to_string(prompt) +
                                           " tokens; this server's context is " + std::to_string(served.context) +
                                           " tokens (--ctx), which must also hold at least one new token");
  const char* limit_name = field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const std::optional<int64_t> max_tokens = integer(body, limit_name, 1, INT64_MAX);
  r.max_tokens = max_tokens.value_or(served.context - prompt);
  if (prompt + r.max_tokens > served.context)
    bad(limit_name, "the prompt's " + std::to_string(prompt) + " tokens plus " + limit_name + " " +
                        std::to_string(r.max_tokens) + " exceed this server's context of " +
                        std::to_string(served.context) + " tokens");
}

// OpenAI's message variants, brought to what parse_messages reads: content
// as a list of text parts joined, "developer" as "system", and an assistant
// turn's reasoning_content dropped (it is never fed back).
json normalise_messages(const json& messages) {
  if (!messages.is_array() || messages.empty()) bad("messages", "'messages' must be a non-empty list");
  json out = json::array();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    json m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) bad(where, where + " must be an object");
    if (m.contains("role") && m["role"] == "developer") m["role"] = "system";
    m.erase("reasoning_content");
    if (m.contains("content") && m["content"].is_array()) {
      std::string text;
      for (const json& part : m["content"]) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          bad(where + ".content", where + ".content: only text parts are supported");
        text += part["text"].get<std::string>();
      }
      m["content"] = text;
    }
    out.push_back(std::move(m));
  }
  return out;
}

const Tokenizer& tokenizer_of(const ServedModel& served) {
  if (served.tokenizer == nullptr) throw ApiError(400, "this model has no tokenizer; send token ids to /v1/completions", "");
  return *served.tokenizer;
}

}  // namespace

json parse_body(const std::string& body) {
  try {
    json parsed = json::parse(body);
    if (!parsed.is_object()) bad("", "the request body must be a JSON object");
    return parsed;
  } catch (const json::parse_error& e) {
    bad("", std::string("malformed JSON: ") + e.what());
  }
}

ApiRequest parse_chat_request(const json& body, const ServedModel& served) {
  ApiRequest r;
  r.chat = true;
  const json* messages = field(body, "messages");
  if (messages == nullptr) bad("messages", "'messages' is required");
  std::vector<ChatMessage> parsed;
  try {
    parsed = parse_messages(normalise_messages(*messages));
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    bad("messages", e.what());
  }
  const Tokenizer& t = tokenizer_of(served);
  r.tools = parse_tool_request(body);
  if (r.tools.active()) {
    if (served.chat_format == ChatFormat::Compact)
      bad("tools", "this model's chat format (compact) has no tool calls");
    if (served.chat_format == ChatFormat::DeepSeekR1 && r.tools.choice != "auto")
      bad("tool_choice", "the deepseek-r1 chat format opens its reply with reasoning, so a call cannot be forced; use \"auto\"");
    parsed.insert(parsed.begin(), ChatMessage{"system", tools_system_prompt(r.tools), {}});
    r.reply_prefix = forced_call_prefix(r.tools);
  }
  const std::string bos = t.bos_id() ? t.token_string(*t.bos_id()) : "";
  const std::string eos = t.eos_id() ? t.token_string(*t.eos_id()) : "";
  r.prompt_text = render_chat(parsed, true, served.chat_format, bos, eos) + r.reply_prefix;
  r.prompt = t.encode(r.prompt_text);
  r.reasoning = replies_with_reasoning(served.chat_format);
  r.opens_reasoning = prompt_opens_reasoning(served.chat_format);
  if (boolean(body, "logprobs")) r.top_logprobs = static_cast<int>(integer(body, "top_logprobs", 0, 20).value_or(0));
  else if (field(body, "top_logprobs")) bad("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  parse_common(body, served, r);
  return r;
}

ApiRequest parse_completion_request(const json& body, const ServedModel& served) {
  ApiRequest r;
  r.chat = false;
  const json* prompt = field(body, "prompt");
  if (prompt == nullptr) bad("prompt", "'prompt' is required");
  const json* single = prompt;
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) single = &(*prompt)[0];
  if (single->is_string()) {
    const Tokenizer& t = tokenizer_of(served);
    r.prompt_text = single->get<std::string>();
    r.prompt = t.encode(r.prompt_text);
    if (t.add_bos_token() && t.bos_id()) r.prompt.insert(r.prompt.begin(), *t.bos_id());
  } else if (single->is_array()) {
    for (const json& id : *single) {
      if (!id.is_number_integer()) bad("prompt", "'prompt' must be a string, or a list of token ids (one prompt per request)");
      const auto v = id.get<int64_t>();
      if (v < 0 || v >= (served.tokenizer ? served.tokenizer->vocab_size() : INT32_MAX))
        bad("prompt", "token id " + std::to_string(v) + " is outside the vocabulary");
      r.prompt.push_back(static_cast<int32_t>(v));
    }
    if (served.tokenizer != nullptr) r.prompt_text = served.tokenizer->decode(r.prompt);
  } else {
    bad("prompt", "'prompt' must be a string, or a list of token ids (one prompt per request)");
  }
  if (r.prompt.empty()) bad("prompt", "'prompt' is empty");
  r.echo = boolean(body, "echo");
  if (field(body, "logprobs")) r.top_logprobs = static_cast<int>(*integer(body, "logprobs", 0, 20));
  parse_common(body, served, r);
  return r;
}

}  // namespace frugal::serve
