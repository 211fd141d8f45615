// frugal tokenize --tokenizer PATH (--jsonl IN.jsonl | --text TEXT) [--chat-format ...]
// Stable interface. With --jsonl, each input line is an object with "text"
// (optional "add_special_tokens", default false) or "messages" (+
// "add_generation_prompt"); it is written back to stdout with "ids" added
// (and "text" = the rendered conversation for "messages"). --text prints the
// ids and the pieces for a quick look.
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/tokenizer/chat_format.h"
#include "frugal/tokenizer/tokenizer.h"
#include "generation_flags.h"

namespace frugal::cli {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;  // output keeps the input's key order

struct TokenizeOptions {
  std::string tokenizer;
  std::string jsonl;
  std::string text;
  std::string chat_format = "auto";
};

void tokenize_line(const Tokenizer& t, ChatFormat format, ordered_json& item) {
  if (!item.is_object()) fail("not a JSON object");
  if (item.contains("messages")) {
    const bool generation_prompt = item.value("add_generation_prompt", false);
    const std::string text = render_chat(parse_messages(json::parse(item["messages"].dump())), generation_prompt, format, bos_text(t), eos_text(t));
    item["text"] = text;
    item["ids"] = t.encode(text);
  } else if (item.contains("text") && item["text"].is_string()) {
    const ordered_json& special = item.contains("add_special_tokens") ? item["add_special_tokens"] : ordered_json(false);
    if (!special.is_boolean()) fail("\"add_special_tokens\" must be true or false");
    item["ids"] = t.encode(item["text"].get<std::string>(), special.get<bool>());
  } else {
    fail("needs \"text\" (a string) or \"messages\"");
  }
}

int run_tokenize(const TokenizeOptions& o) {
  if (o.jsonl.empty() == o.text.empty()) fail("give exactly one of --jsonl and --text");
  const Tokenizer t = Tokenizer::load(o.tokenizer);
  const ChatFormat format = resolve_chat_format(o.chat_format, t.chat_template());
  if (!o.text.empty()) {
    const std::vector<int32_t> ids = t.encode(o.text);
    std::printf("%zu tokens\n", ids.size());
    for (int32_t id : ids) std::printf("%8d  %s\n", id, json(t.decode({id})).dump().c_str());
    return 0;
  }
  std::ifstream in(o.jsonl, std::ios::binary);
  if (!in) fail(o.jsonl, ": cannot open");
  std::size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      ordered_json item = ordered_json::parse(line);
      tokenize_line(t, format, item);
      std::printf("%s\n", item.dump().c_str());
    } catch (const json::exception& e) {
      fail(o.jsonl, ":", line_number, ": ", e.what());
    } catch (const Error& e) {
      fail(o.jsonl, ":", line_number, ": ", e.what());
    }
  }
  if (in.bad()) fail(o.jsonl, ": read error");
  return 0;
}

}  // namespace

Runner add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* command = app.add_subcommand("tokenize", "Encode text or chats to token ids");
  command->add_option("--tokenizer", o->tokenizer, "tokenizer.json or its folder")->required();
  command->add_option("--jsonl", o->jsonl, "Input lines: {\"text\": ...} or {\"messages\": [...]}");
  command->add_option("--text", o->text, "Encode this text and show each token");
  command->add_option("--chat-format", o->chat_format, "Chat convention (auto: from the tokenizer's template)")
      ->check(CLI::IsMember(chat_format_names()));
  return [o] { return run_tokenize(*o); };
}

}  // namespace frugal::cli
