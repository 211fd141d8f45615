#pragma once
// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) of the
// byte-level BPE kind DeepSeek uses: added tokens matched first (leftmost
// longest), the pre-tokenizer's regex splits, byte-level BPE per piece, and
// byte-level decoding with invalid UTF-8 replaced by U+FFFD.
//
// BOS rule: encode() follows tokenizer.json's post-processor exactly as
// Hugging Face `tokenizers` does (DeepSeek's ByteLevel post-processor adds
// nothing, even with add_special_tokens). tokenizer_config.json's
// add_bos_token is exposed as add_bos_token() for callers that build model
// prompts from raw text (`frugal generate` without --chat); chat templates
// write BOS themselves.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "frugal/tokenizer/bpe.h"
#include "frugal/tokenizer/pretokenizer.h"

namespace frugal {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
};

class Tokenizer {
 public:
  // `path`: a tokenizer.json file or a folder holding tokenizer.json (and
  // optionally tokenizer_config.json).
  static Tokenizer load(const std::string& path);
  // From tokenizer.json text (and tokenizer_config.json text, may be empty).
  static Tokenizer from_json(const std::string& tokenizer_json, const std::string& config_json,
                             const std::string& source);

  // Invalid UTF-8 in `text` is replaced by U+FFFD before encoding.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;
  // The raw bytes of one token (may be part of a UTF-8 character).
  const std::string& token_bytes(int32_t id) const;
  // The token's string as stored (byte-level alphabet, or an added token's content).
  const std::string& token_string(int32_t id) const;
  std::optional<int32_t> token_id(const std::string& token_string) const;

  int32_t vocab_size() const { return static_cast<int32_t>(token_bytes_.size()); }
  bool is_special(int32_t id) const;
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  bool add_bos_token() const { return add_bos_token_; }
  const std::string& chat_template() const { return chat_template_; }
  const std::string& source() const { return source_; }

 private:
  Tokenizer() = default;
  void encode_plain(std::string_view text, std::vector<int32_t>& out) const;
  // Longest added token starting at text[pos]: its index, or -1.
  int match_added(std::string_view text, std::size_t pos, std::size_t* length) const;

  std::string source_;
  std::unique_ptr<BytePairEncoder> bpe_;
  PreTokenizer pre_tokenizer_;
  bool add_prefix_space_ = false;
  std::vector<AddedToken> added_;
  // Byte trie over added-token contents: node -> (byte -> child), terminal index.
  struct TrieNode {
    std::vector<std::pair<unsigned char, int>> children;
    int token = -1;
  };
  std::vector<TrieNode> trie_;
  std::vector<int32_t> template_prefix_, template_suffix_;  // TemplateProcessing "single"
  std::vector<std::string> token_strings_;
  std::vector<std::string> token_bytes_;
  std::vector<bool> special_;
  std::unordered_map<std::string, int32_t> ids_;
  std::optional<int32_t> bos_id_, eos_id_;
  bool add_bos_token_ = false;
  std::string chat_template_;
};

}  // namespace frugal
