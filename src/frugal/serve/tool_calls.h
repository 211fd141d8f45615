#pragma once
// Tool calls in DeepSeek-V3's markup, as its chat template writes them and
// the model generates them:
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME
//   ```json
//   ARGUMENTS
//   ```<｜tool▁call▁end｜> ... <｜tool▁calls▁end｜>
// The parser takes the answer as it streams: text before the first
// <｜tool▁calls▁begin｜> is content (a partial marker is held back), each
// completed call is released whole, and whatever follows the calls is
// dropped. The tools' definitions reach the model in the system prompt
// (tools_system_prompt), in the shape vLLM's DeepSeek-V3 tool template uses.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/tokenizer/chat_format.h"

namespace frugal::serve {

class ToolCallParser {
 public:
  // Adds answer text; returns the content that can be released, and appends
  // completed calls to `calls`.
  std::string push(std::string_view text, std::vector<ToolCall>& calls);
  // End of the reply: held-back text that never became a call is content;
  // a call begun but never ended is dropped (the reply ran out of tokens).
  std::string flush();
  bool in_calls() const { return in_calls_; }

 private:
  std::string pending_;
  bool in_calls_ = false;
};

// The request's tools and tool_choice, checked: `tools` a list of
// {"type": "function", "function": {"name", "description"?, "parameters"?}},
// tool_choice "none", "auto", "required" or {"type": "function",
// "function": {"name"}}. Errors are 400s naming the field.
struct ToolRequest {
  nlohmann::json tools = nlohmann::json::array();  // the function objects offered
  std::string choice = "auto";                      // none, auto, required, or named
  std::string forced_name;                          // with choice "named"
  bool active() const { return !tools.empty() && choice != "none"; }
};
ToolRequest parse_tool_request(const nlohmann::json& body);

// The system-prompt section that offers the tools and shows their markup.
std::string tools_system_prompt(const ToolRequest& tools);
// Text that opens the reply when a call is required: the markup up to the
// (named) function's arguments, so the model cannot answer otherwise.
std::string forced_call_prefix(const ToolRequest& tools);

}  // namespace frugal::serve
