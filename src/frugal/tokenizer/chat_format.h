#pragma once
// Chat prompts in DeepSeek's conventions, rendered natively instead of through
// a general Jinja engine: the two templates are small, fixed, and a native
// renderer cannot be tricked by template code in a downloaded config.
//
//  * DeepSeek-V3: BOS, all system messages joined by "\n\n", then
//    <｜User｜>content / <｜Assistant｜>content<｜end▁of▁sentence｜> with no
//    separators, tool calls and tool outputs exactly as the original template
//    writes them (quirks included), and <｜Assistant｜> as generation prompt.
//  * DeepSeek-R1: the same, except that earlier assistant turns drop their
//    reasoning (everything up to the last </think>) and the generation prompt
//    opens the reasoning: <｜Assistant｜><think>\n.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace frugal {

struct ToolCall {
  std::string type = "function";
  std::string name;
  std::string arguments;  // JSON text, copied verbatim
};

struct ChatMessage {
  std::string role;                    // system, user, assistant, tool
  std::optional<std::string> content;  // null for an assistant turn that only calls tools
  std::vector<ToolCall> tool_calls;
};

enum class ChatFormat { DeepSeekV3, DeepSeekR1 };

// R1 when the tokenizer's chat template handles </think>, else V3.
ChatFormat detect_chat_format(const std::string& chat_template);
std::string to_string(ChatFormat format);

// Messages from the OpenAI-style JSON array; errors name the message index
// and field.
std::vector<ChatMessage> parse_messages(const nlohmann::json& messages);

std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        ChatFormat format, const std::string& bos_token);

}  // namespace frugal
