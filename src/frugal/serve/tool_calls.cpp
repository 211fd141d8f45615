#include "frugal/serve/tool_calls.h"

#include "frugal/generate/text_match.h"
#include "frugal/serve/api_error.h"

namespace frugal::serve {
namespace {

using nlohmann::json;

constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kToolSep = "<｜tool▁sep｜>";

std::string trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  const auto end = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(begin, end - begin + 1));
}

// "function<｜tool▁sep｜>NAME\n```json\nARGS\n```" -> a call (name and
// arguments trimmed; the code fence is optional).
std::optional<ToolCall> parse_call(std::string_view body) {
  const auto sep = body.find(kToolSep);
  if (sep == std::string_view::npos) return std::nullopt;
  ToolCall call;
  call.type = trim(body.substr(0, sep));
  std::string_view rest = body.substr(sep + kToolSep.size());
  const auto newline = rest.find('\n');
  call.name = trim(rest.substr(0, newline));
  std::string_view arguments = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  const auto fence = arguments.find("```");
  if (fence != std::string_view::npos) {
    arguments = arguments.substr(fence + 3);
    const auto line_end = arguments.find('\n');  // "json" after the fence
    arguments = line_end == std::string_view::npos ? std::string_view() : arguments.substr(line_end + 1);
    const auto close = arguments.rfind("```");
    if (close != std::string_view::npos) arguments = arguments.substr(0, close);
  }
  call.arguments = trim(arguments);
  if (call.name.empty()) return std::nullopt;
  return call;
}

[[noreturn]] void bad(const std::string& param, const std::string& message) { throw ApiError(400, message, param); }

}  // namespace

std::string ToolCallParser::push(std::string_view text, std::vector<ToolCall>& calls) {
  pending_ += text;
  std::string released;
  if (!in_calls_) {
    const auto begin = pending_.find(kCallsBegin);
    if (begin == std::string::npos) {
      const std::size_t hold = partial_marker_suffix(pending_, kCallsBegin);
      released = pending_.substr(0, pending_.size() - hold);
      pending_.erase(0, pending_.size() - hold);
      return released;
    }
    released = pending_.substr(0, begin);
    pending_.erase(0, begin + kCallsBegin.size());
    in_calls_ = true;
  }
  for (;;) {
    const auto begin = pending_.find(kCallBegin);
    if (begin == std::string::npos) break;
    const auto end = pending_.find(kCallEnd, begin);
    if (end == std::string::npos) break;
    const std::string_view body = std::string_view(pending_).substr(begin + kCallBegin.size(), end - begin - kCallBegin.size());
    if (std::optional<ToolCall> call = parse_call(body)) calls.push_back(std::move(*call));
    pending_.erase(0, end + kCallEnd.size());
  }
  return released;
}

std::string ToolCallParser::flush() {
  if (in_calls_) {
    pending_.clear();
    return "";
  }
  return std::exchange(pending_, std::string());
}

ToolRequest parse_tool_request(const json& body) {
  ToolRequest out;
  const auto tools = body.find("tools");
  if (tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) bad("tools", "'tools' must be a list");
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const json& t = (*tools)[i];
      const std::string where = "tools[" + std::to_string(i) + "]";
      if (!t.is_object() || t.value("type", "function") != "function" || !t.contains("function") || !t["function"].is_object())
        bad(where, where + " must be {\"type\": \"function\", \"function\": {...}}");
      const json& f = t["function"];
      if (!f.contains("name") || !f["name"].is_string() || f["name"].get<std::string>().empty())
        bad(where + ".function.name", where + ".function.name must be a non-empty string");
      if (f.contains("parameters") && !f["parameters"].is_null() && !f["parameters"].is_object())
        bad(where + ".function.parameters", where + ".function.parameters must be a JSON Schema object");
      out.tools.push_back(f);
    }
  }
  const auto choice = body.find("tool_choice");
  if (choice != body.end() && !choice->is_null()) {
    if (choice->is_string()) {
      out.choice = choice->get<std::string>();
      if (out.choice != "none" && out.choice != "auto" && out.choice != "required")
        bad("tool_choice", "'tool_choice' must be none, auto, required or a named function");
    } else if (choice->is_object() && choice->contains("function") && (*choice)["function"].is_object() &&
               (*choice)["function"].contains("name") && (*choice)["function"]["name"].is_string()) {
      out.choice = "named";
      out.forced_name = (*choice)["function"]["name"].get<std::string>();
      bool offered = false;
      for (const json& f : out.tools) offered = offered || f["name"] == out.forced_name;
      if (!offered) bad("tool_choice", "tool_choice names '" + out.forced_name + "', which is not among the tools");
    } else {
      bad("tool_choice", "'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}");
    }
    if (out.choice != "none" && out.tools.empty()) bad("tool_choice", "'tool_choice' needs 'tools'");
  }
  return out;
}

std::string tools_system_prompt(const ToolRequest& tools) {
  std::string out = "## Tools\n\n### Function\n\nYou have the following functions available:\n";
  for (const json& f : tools.tools) {
    if (tools.choice == "named" && f["name"] != tools.forced_name) continue;
    out += "\n- `" + f["name"].get<std::string>() + "`:\n```json\n" + f.dump() + "\n```\n";
  }
  out += "\nTo call functions, reply with:\n" + std::string(kCallsBegin) + std::string(kCallBegin) + "function" +
         std::string(kToolSep) + "NAME\n```json\nARGUMENTS\n```" + std::string(kCallEnd) +
         "<｜tool▁calls▁end｜>";
  return out;
}

std::string forced_call_prefix(const ToolRequest& tools) {
  if (tools.choice == "named")
    return std::string(kCallsBegin) + std::string(kCallBegin) + "function" + std::string(kToolSep) + tools.forced_name +
           "\n```json\n";
  if (tools.choice == "required") return std::string(kCallsBegin) + std::string(kCallBegin) + "function" + std::string(kToolSep);
  return "";
}

}  // namespace frugal::serve
