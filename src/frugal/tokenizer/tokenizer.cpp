#include "frugal/tokenizer/tokenizer.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/io/checkpoint.h"
#include "frugal/tokenizer/byte_level.h"
#include "frugal/tokenizer/utf8.h"

namespace frugal {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// GPT-2's pattern, used by a ByteLevel pre-tokenizer with use_regex: true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

const json& field(const json& object, const char* key, const std::string& where, const std::string& source) {
  if (!object.is_object() || !object.contains(key)) fail(source, ": ", where, " has no \"", key, "\"");
  return object[key];
}

std::string string_field(const json& object, const char* key, const std::string& where, const std::string& source) {
  const json& v = field(object, key, where, source);
  if (!v.is_string()) fail(source, ": ", where, ".", key, " must be a string");
  return v.get<std::string>();
}

// Escapes a literal for use inside a PCRE2 pattern.
std::string regex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// A token given as a string or as {"content": ...} in tokenizer_config.json.
std::optional<std::string> token_content(const json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& path) {
  fs::path file = path, config_file;
  if (fs::is_directory(path)) {
    file = fs::path(path) / "tokenizer.json";
    if (!fs::exists(file)) fail(path, ": no tokenizer.json in this folder");
  }
  config_file = file.parent_path() / "tokenizer_config.json";
  const std::string config_text = fs::exists(config_file) ? read_text_file(config_file.string()) : "";
  return from_json(read_text_file(file.string()), config_text, file.string());
}

Tokenizer Tokenizer::from_json(const std::string& tokenizer_json, const std::string& config_json,
                               const std::string& source) {
  json root;
  try {
    root = json::parse(tokenizer_json);
  } catch (const json::exception& e) {
    fail(source, ": not valid JSON: ", e.what());
  }
  if (!root.is_object()) fail(source, ": top level is not a JSON object");
  Tokenizer t;
  t.source_ = source;

  // Normalizer: none, or an empty sequence.
  if (root.contains("normalizer") && !root["normalizer"].is_null()) {
    const json& n = root["normalizer"];
    const std::string type = string_field(n, "type", "normalizer", source);
    if (type != "Sequence" || !n.contains("normalizers") || !n["normalizers"].empty())
      fail(source, ": normalizer \"", type, "\" is not supported (byte-level BPE tokenizers use none)");
  }

  // Model: byte-level BPE.
  const json& model = field(root, "model", "tokenizer.json", source);
  const std::string model_type = model.value("type", std::string("BPE"));
  if (model_type != "BPE") fail(source, ": model.type \"", model_type, "\" is not supported; expected BPE");
  if (model.value("byte_fallback", false)) fail(source, ": model.byte_fallback is not supported");
  const json& vocab_json = field(model, "vocab", "model", source);
  if (!vocab_json.is_object()) fail(source, ": model.vocab must be an object of token -> id");
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(vocab_json.size());
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab_json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 30))
      fail(source, ": model.vocab[\"", token, "\"] is not a valid id");
    vocab.emplace(token, id.get<int32_t>());
    max_id = std::max(max_id, id.get<int32_t>());
  }
  const json& merges_json = field(model, "merges", "model", source);
  if (!merges_json.is_array()) fail(source, ": model.merges must be an array");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(merges_json.size());
  for (std::size_t i = 0; i < merges_json.size(); ++i) {
    const json& m = merges_json[i];
    if (m.is_string()) {  // old format "left right"
      const std::string text = m.get<std::string>();
      const auto space = text.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == text.size() ||
          text.find(' ', space + 1) != std::string::npos)
        fail(source, ": model.merges[", i, "] = \"", text, "\" is not two tokens separated by one space");
      merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      fail(source, ": model.merges[", i, "] must be \"left right\" or [left, right]");
    }
  }
  t.bpe_ = std::make_unique<BytePairEncoder>(vocab, merges, source);

  // Pre-tokenizer: Split steps (Isolated) and a ByteLevel step.
  if (root.contains("pre_tokenizer") && !root["pre_tokenizer"].is_null()) {
    const json& p = root["pre_tokenizer"];
    std::vector<json> steps;
    if (string_field(p, "type", "pre_tokenizer", source) == "Sequence") {
      for (const json& s : field(p, "pretokenizers", "pre_tokenizer", source)) steps.push_back(s);
    } else {
      steps.push_back(p);
    }
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const std::string where = "pre_tokenizer step " + std::to_string(i);
      const std::string type = string_field(steps[i], "type", where, source);
      if (type == "Split") {
        const json& pattern = field(steps[i], "pattern", where, source);
        const std::string behavior = steps[i].value("behavior", std::string("Isolated"));
        if (behavior != "Isolated" || steps[i].value("invert", false))
          fail(source, ": ", where, ": Split behavior \"", behavior, "\" (invert ", steps[i].value("invert", false),
               ") is not supported; only Isolated");
        if (pattern.contains("Regex")) {
          t.pre_tokenizer_.add_split(string_field(pattern, "Regex", where + ".pattern", source), source + " " + where);
        } else if (pattern.contains("String")) {
          t.pre_tokenizer_.add_split(regex_escape(string_field(pattern, "String", where + ".pattern", source)),
                                     source + " " + where);
        } else {
          fail(source, ": ", where, ".pattern needs \"Regex\" or \"String\"");
        }
      } else if (type == "ByteLevel") {
        t.add_prefix_space_ = steps[i].value("add_prefix_space", false);
        if (steps[i].value("use_regex", true)) t.pre_tokenizer_.add_split(kGpt2Pattern, source + " " + where);
      } else {
        fail(source, ": ", where, ": pre-tokenizer \"", type, "\" is not supported");
      }
    }
  }

  // Added tokens.
  if (root.contains("added_tokens") && root["added_tokens"].is_array()) {
    for (const json& a : root["added_tokens"]) {
      const std::string where = "added_tokens entry";
      AddedToken token;
      const json& id = field(a, "id", where, source);
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 30))
        fail(source, ": added token id ", id.dump(), " is invalid");
      token.id = id.get<int32_t>();
      token.content = string_field(a, "content", where, source);
      token.special = a.value("special", false);
      if (token.content.empty()) fail(source, ": added token ", token.id, " has empty content");
      if (a.value("lstrip", false) || a.value("rstrip", false) || a.value("single_word", false))
        fail(source, ": added token \"", token.content, "\" uses lstrip/rstrip/single_word, which is not supported");
      max_id = std::max(max_id, token.id);
      t.added_.push_back(token);
    }
  }
  t.trie_.emplace_back();
  for (std::size_t k = 0; k < t.added_.size(); ++k) {
    int node = 0;
    for (unsigned char c : t.added_[k].content) {
      auto& children = t.trie_[node].children;
      auto it = std::find_if(children.begin(), children.end(), [c](const auto& e) { return e.first == c; });
      if (it == children.end()) {
        t.trie_.emplace_back();
        t.trie_[node].children.emplace_back(c, static_cast<int>(t.trie_.size()) - 1);
        node = static_cast<int>(t.trie_.size()) - 1;
      } else {
        node = it->second;
      }
    }
    t.trie_[node].token = static_cast<int>(k);
  }

  // Id tables: every id has a string and its bytes.
  t.token_strings_.assign(static_cast<std::size_t>(max_id + 1), std::string());
  t.token_bytes_.assign(t.token_strings_.size(), std::string());
  t.special_.assign(t.token_strings_.size(), false);
  for (const auto& [token, id] : vocab) {
    t.token_strings_[id] = token;
    auto bytes = unicode_to_bytes(token);
    t.token_bytes_[id] = bytes ? *bytes : token;
  }
  for (const AddedToken& a : t.added_) {
    t.token_strings_[a.id] = a.content;
    t.token_bytes_[a.id] = a.content;
    t.special_[a.id] = a.special;
  }
  for (std::size_t id = 0; id < t.token_strings_.size(); ++id)
    if (!t.token_strings_[id].empty()) t.ids_.emplace(t.token_strings_[id], static_cast<int32_t>(id));

  // Post-processor: ByteLevel adds nothing; TemplateProcessing's "single".
  if (root.contains("post_processor") && !root["post_processor"].is_null()) {
    const json& p = root["post_processor"];
    const std::string type = string_field(p, "type", "post_processor", source);
    if (type == "TemplateProcessing") {
      bool after = false;
      for (const json& item : field(p, "single", "post_processor", source)) {
        if (item.contains("Sequence")) {
          after = true;
        } else if (item.contains("SpecialToken")) {
          const std::string name = string_field(item["SpecialToken"], "id", "post_processor item", source);
          const auto id = t.token_id(name);
          if (!id) fail(source, ": post_processor special token \"", name, "\" is not in the vocabulary");
          (after ? t.template_suffix_ : t.template_prefix_).push_back(*id);
        }
      }
    } else if (type != "ByteLevel") {
      fail(source, ": post_processor \"", type, "\" is not supported");
    }
  }

  // tokenizer_config.json: BOS/EOS, add_bos_token, chat template.
  if (!config_json.empty()) {
    json config;
    try {
      config = json::parse(config_json);
    } catch (const json::exception& e) {
      fail(source, ": tokenizer_config.json is not valid JSON: ", e.what());
    }
    if (auto bos = token_content(config, "bos_token")) t.bos_id_ = t.token_id(*bos);
    if (auto eos = token_content(config, "eos_token")) t.eos_id_ = t.token_id(*eos);
    t.add_bos_token_ = config.value("add_bos_token", false) && t.bos_id_.has_value();
    if (config.contains("chat_template") && config["chat_template"].is_string())
      t.chat_template_ = config["chat_template"].get<std::string>();
  }
  return t;
}

int Tokenizer::match_added(std::string_view text, std::size_t pos, std::size_t* length) const {
  int node = 0, best = -1;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto& children = trie_[node].children;
    auto it = std::find_if(children.begin(), children.end(), [c](const auto& e) { return e.first == c; });
    if (it == children.end()) break;
    node = it->second;
    if (trie_[node].token >= 0) {
      best = trie_[node].token;
      *length = i + 1 - pos;
    }
  }
  return best;
}

void Tokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::string prefixed;
  if (add_prefix_space_ && text.front() != ' ') {
    prefixed.reserve(text.size() + 1);
    prefixed.push_back(' ');
    prefixed.append(text);
    text = prefixed;
  }
  if (pre_tokenizer_.empty()) {
    bpe_->encode(text, out);
    return;
  }
  for (std::string_view piece : pre_tokenizer_.split(text)) bpe_->encode(piece, out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::string sanitized;
  if (!is_valid_utf8(text)) {
    sanitized = sanitize_utf8(text);
    text = sanitized;
  }
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = template_prefix_;
  std::size_t plain_start = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t length = 0;
    const int k = trie_.front().children.empty() ? -1 : match_added(text, pos, &length);
    if (k < 0) {
      ++pos;
      continue;
    }
    encode_plain(text.substr(plain_start, pos - plain_start), ids);
    ids.push_back(added_[k].id);
    pos += length;
    plain_start = pos;
  }
  encode_plain(text.substr(plain_start), ids);
  if (add_special_tokens) ids.insert(ids.end(), template_suffix_.begin(), template_suffix_.end());
  return ids;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size()) fail(source_, ": token id ", id, " is outside the vocabulary of ", vocab_size());
  return token_bytes_[id];
}

const std::string& Tokenizer::token_string(int32_t id) const {
  if (id < 0 || id >= vocab_size()) fail(source_, ": token id ", id, " is outside the vocabulary of ", vocab_size());
  return token_strings_[id];
}

std::optional<int32_t> Tokenizer::token_id(const std::string& token_string) const {
  const auto it = ids_.find(token_string);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

bool Tokenizer::is_special(int32_t id) const { return id >= 0 && id < vocab_size() && special_[id]; }

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    bytes += token_bytes(id);
  }
  return sanitize_utf8(bytes);
}

}  // namespace frugal
