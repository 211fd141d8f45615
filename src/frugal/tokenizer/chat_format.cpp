#include "frugal/tokenizer/chat_format.h"

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"

namespace frugal {
namespace {

constexpr const char* kUser = "<｜User｜>";
constexpr const char* kAssistant = "<｜Assistant｜>";
constexpr const char* kEndOfSentence = "<｜end▁of▁sentence｜>";
constexpr const char* kCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr const char* kCallsEnd = "<｜tool▁calls▁end｜>";
constexpr const char* kCallBegin = "<｜tool▁call▁begin｜>";
constexpr const char* kCallEnd = "<｜tool▁call▁end｜>";
constexpr const char* kToolSep = "<｜tool▁sep｜>";
constexpr const char* kOutputsBegin = "<｜tool▁outputs▁begin｜>";
constexpr const char* kOutputsEnd = "<｜tool▁outputs▁end｜>";
constexpr const char* kOutputBegin = "<｜tool▁output▁begin｜>";
constexpr const char* kOutputEnd = "<｜tool▁output▁end｜>";

std::string tool_call_body(const ToolCall& call) {
  return call.type + kToolSep + call.name + "\n```json\n" + call.arguments + "\n```" + kCallEnd;
}

// R1 shows earlier answers without their reasoning.
std::string without_reasoning(const std::string& content) {
  const auto end = content.rfind("</think>");
  return end == std::string::npos ? content : content.substr(end + 8);
}

}  // namespace

ChatFormat detect_chat_format(const std::string& chat_template) {
  if (chat_template.find(kCompactChatMarker) != std::string::npos) return ChatFormat::Compact;
  return chat_template.find("</think>") != std::string::npos ? ChatFormat::DeepSeekR1 : ChatFormat::DeepSeekV3;
}

std::string to_string(ChatFormat format) {
  switch (format) {
    case ChatFormat::DeepSeekR1: return "deepseek-r1";
    case ChatFormat::Compact: return "compact";
    default: return "deepseek-v3";
  }
}

std::vector<std::string> chat_format_names() { return {"auto", "deepseek-v3", "deepseek-r1", "compact"}; }

ChatFormat resolve_chat_format(const std::string& name, const std::string& chat_template) {
  if (name == "auto") return detect_chat_format(chat_template);
  if (name == "deepseek-v3") return ChatFormat::DeepSeekV3;
  if (name == "deepseek-r1") return ChatFormat::DeepSeekR1;
  if (name == "compact") return ChatFormat::Compact;
  fail("unknown chat format '", name, "' (expected auto, deepseek-v3, deepseek-r1 or compact)");
}

std::string compact_chat_template() {
  return std::string("{#- ") + kCompactChatMarker +
         " -#}{{ bos_token }}{% for m in messages %}{% if m['role'] == 'assistant' %}"
         "{{ m['content'].split('</think>')[-1] + eos_token }}{% else %}{{ m['content'] + '\\n' }}{% endif %}"
         "{% endfor %}";
}

namespace {

std::string render_compact(const std::vector<ChatMessage>& messages, const std::string& bos_token,
                           const std::string& eos_token) {
  std::string out = bos_token;
  for (const auto& m : messages) {
    if (m.role == "assistant") {
      out += without_reasoning(m.content.value_or("")) + eos_token;
    } else {
      out += m.content.value_or("") + "\n";
    }
  }
  return out;
}

}  // namespace

std::vector<ChatMessage> parse_messages(const nlohmann::json& messages) {
  if (!messages.is_array()) fail("\"messages\" must be an array");
  std::vector<ChatMessage> out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      fail(where, " needs a string \"role\"");
    ChatMessage message;
    message.role = m["role"].get<std::string>();
    if (message.role != "system" && message.role != "user" && message.role != "assistant" && message.role != "tool")
      fail(where, ".role \"", message.role, "\" is not system, user, assistant or tool");
    if (m.contains("content") && m["content"].is_string()) {
      message.content = m["content"].get<std::string>();
    } else if (m.contains("content") && !m["content"].is_null()) {
      fail(where, ".content must be a string or null");
    }
    // Only an assistant turn that calls tools goes without text.
    if (!message.content && message.role != "assistant") fail(where, ".content must be a string for a ", message.role, " message");
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (!m["tool_calls"].is_array()) fail(where, ".tool_calls must be an array");
      for (std::size_t k = 0; k < m["tool_calls"].size(); ++k) {
        const auto& c = m["tool_calls"][k];
        const std::string call_where = where + ".tool_calls[" + std::to_string(k) + "]";
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object())
          fail(call_where, " needs a \"function\" object");
        const auto& f = c["function"];
        ToolCall call;
        if (c.contains("type") && c["type"].is_string()) call.type = c["type"].get<std::string>();
        if (!f.contains("name") || !f["name"].is_string()) fail(call_where, ".function.name must be a string");
        call.name = f["name"].get<std::string>();
        if (f.contains("arguments") && f["arguments"].is_string()) {
          call.arguments = f["arguments"].get<std::string>();
        } else if (f.contains("arguments")) {
          call.arguments = f["arguments"].dump();  // an object: its JSON text
        }
        message.tool_calls.push_back(std::move(call));
      }
    }
    const bool calls_only = message.role == "assistant" && !message.tool_calls.empty();
    if (!message.content && !calls_only) fail(where, " has no \"content\"");
    out.push_back(std::move(message));
  }
  return out;
}

std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        ChatFormat format, const std::string& bos_token, const std::string& eos_token) {
  if (format == ChatFormat::Compact) return render_compact(messages, bos_token, eos_token);
  std::string system_prompt;
  bool first_system = true;
  for (const auto& m : messages) {
    if (m.role != "system") continue;
    if (!first_system) system_prompt += "\n\n";
    system_prompt += m.content.value_or("");
    first_system = false;
  }
  std::string out = bos_token + system_prompt;
  // The template's namespace flags; is_first is never reset (upstream quirk).
  bool is_first_call = false, is_tool = false, is_output_first = true;
  for (const auto& m : messages) {
    if (m.role == "user") {
      is_tool = false;
      out += kUser + *m.content;
    } else if (m.role == "assistant" && !m.content) {
      is_tool = false;
      for (const ToolCall& call : m.tool_calls) {
        if (!is_first_call) {
          out += std::string(kAssistant) + kCallsBegin + kCallBegin + tool_call_body(call);
          is_first_call = true;
        } else {
          out += std::string("\n") + kCallBegin + tool_call_body(call) + kCallsEnd + kEndOfSentence;
        }
      }
    } else if (m.role == "assistant") {
      const std::string content = format == ChatFormat::DeepSeekR1 ? without_reasoning(*m.content) : *m.content;
      if (is_tool) {
        out += kOutputsEnd + content + kEndOfSentence;
        is_tool = false;
      } else {
        out += kAssistant + content + kEndOfSentence;
      }
    } else if (m.role == "tool") {
      is_tool = true;
      if (is_output_first) {
        out += std::string(kOutputsBegin) + kOutputBegin + *m.content + kOutputEnd;
        is_output_first = false;
      } else {
        out += std::string("\n") + kOutputBegin + *m.content + kOutputEnd;
      }
    }
  }
  if (is_tool) out += kOutputsEnd;
  if (add_generation_prompt && !is_tool) {
    out += kAssistant;
    if (format == ChatFormat::DeepSeekR1) out += "<think>\n";
  }
  return out;
}

}  // namespace frugal
