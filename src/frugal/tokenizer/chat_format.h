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
//  * Compact, for frugal's own small reasoning models (nano-r1), which are
//    trained on a bare "{problem}\n" prompt: BOS, then every system and user
//    message followed by "\n", every assistant reply (reasoning dropped, as
//    R1 does) followed by EOS; no generation prompt (the model opens <think>
//    itself). A tokenizer_config.json names it with a chat_template that
//    contains kCompactChatMarker (the template is also valid Jinja that
//    renders the same text, for other tools).
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

enum class ChatFormat { DeepSeekV3, DeepSeekR1, Compact };

inline constexpr const char* kCompactChatMarker = "frugal-chat-format: compact";
// The chat_template frugal writes for the compact format.
std::string compact_chat_template();
// The generation prompt opens <think> (R1): the reply starts in reasoning.
inline bool prompt_opens_reasoning(ChatFormat f) { return f == ChatFormat::DeepSeekR1; }
// Replies carry reasoning in <think> ... </think> before the answer.
inline bool replies_with_reasoning(ChatFormat f) { return f != ChatFormat::DeepSeekV3; }

// Compact when the template names it, R1 when it handles </think>, else V3.
ChatFormat detect_chat_format(const std::string& chat_template);
std::string to_string(ChatFormat format);
// "auto" (detect_chat_format of the template), "deepseek-v3", "deepseek-r1"
// or "compact"; fails naming the known ones.
ChatFormat resolve_chat_format(const std::string& name, const std::string& chat_template);
std::vector<std::string> chat_format_names();  // with "auto"

// Messages from the OpenAI-style JSON array; errors name the message index
// and field.
std::vector<ChatMessage> parse_messages(const nlohmann::json& messages);

// `eos_token` ends assistant replies in the compact format (the DeepSeek
// formats write their own end-of-sentence token).
std::string render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        ChatFormat format, const std::string& bos_token, const std::string& eos_token = "");

}  // namespace frugal
