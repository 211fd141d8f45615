#include "frugal/tokenizer/tokenizer_writer.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/core/mapped_file.h"
#include "frugal/tokenizer/byte_level.h"
#include "frugal/tokenizer/deepseek_pretokenizer.h"

namespace frugal {
namespace {

// Keys stay in the order written, like the files Hugging Face produces.
using ojson = nlohmann::ordered_json;

std::string byte_level_string(const std::string& bytes) {
  std::string out;
  for (unsigned char b : bytes) out += byte_to_unicode()[b];
  return out;
}

// BOS and EOS are special (skip_special_tokens drops them); extra tokens
// are not, like DeepSeek-R1's <think>, so decoded replies keep their tags.
ojson added_token_json(int32_t id, const std::string& content, bool special) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

ojson pre_tokenizer_json(int digit_group) {
  ojson steps = ojson::array();
  for (const std::string& pattern : split_patterns_with_digit_group(digit_group))
    steps.push_back(
        {{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}});
  steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
  return {{"type", "Sequence"}, {"pretokenizers", steps}};
}

ojson byte_level_step(bool trim_offsets) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", trim_offsets}, {"use_regex", true}};
}

ojson token_config(const std::string& content) {
  return {{"__type", "AddedToken"}, {"content", content}, {"lstrip", false},
          {"normalized", false},    {"rstrip", false},    {"single_word", false}};
}

}  // namespace

std::string trained_tokenizer_json(const TrainedBpe& bpe) {
  ojson added = ojson::array();
  for (std::size_t id = 0; id < bpe.special_tokens.size(); ++id)
    added.push_back(added_token_json(static_cast<int32_t>(id), bpe.special_tokens[id], id < 2));

  // The small sections go through ordered_json; the vocabulary and merges
  // (tens of thousands of entries) are written line by line, because an
  // ordered_json object finds its keys by linear search.
  std::string text = "{\n";
  text += "  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
  text += "  \"added_tokens\": " + added.dump() + ",\n";
  text += "  \"normalizer\": " + ojson({{"type", "Sequence"}, {"normalizers", ojson::array()}}).dump() + ",\n";
  text += "  \"pre_tokenizer\": " + pre_tokenizer_json(bpe.digit_group).dump() + ",\n";
  text += "  \"post_processor\": " + byte_level_step(false).dump() + ",\n";
  text += "  \"decoder\": " + byte_level_step(true).dump() + ",\n";
  text +=
      "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
      "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n"
      "    \"byte_fallback\": false,\n    \"vocab\": {\n";
  const auto first = static_cast<int32_t>(bpe.special_tokens.size());
  for (int32_t id = first; id < bpe.vocab_size(); ++id) {
    text += "      " + ojson(byte_level_string(bpe.tokens[id])).dump() + ": " + std::to_string(id);
    text += id + 1 < bpe.vocab_size() ? ",\n" : "\n";
  }
  text += "    },\n    \"merges\": [\n";
  for (std::size_t i = 0; i < bpe.merges.size(); ++i) {
    const auto [left, right] = bpe.merges[i];
    // Byte-level strings hold no spaces, so DeepSeek's "left right" form is unambiguous.
    text += "      " + ojson(byte_level_string(bpe.tokens[left]) + " " + byte_level_string(bpe.tokens[right])).dump();
    text += i + 1 < bpe.merges.size() ? ",\n" : "\n";
  }
  text += "    ]\n  }\n}\n";
  return text;
}

std::string trained_tokenizer_config_json(const TrainedBpe& bpe, int64_t model_max_length, const std::string& chat_template) {
  if (bpe.special_tokens.size() < 2) fail("a trained tokenizer needs BOS and EOS as its first special tokens");
  ojson config = {
      {"add_bos_token", true},
      {"add_eos_token", false},
      {"bos_token", token_config(bpe.special_tokens[0])},
      {"clean_up_tokenization_spaces", false},
      {"eos_token", token_config(bpe.special_tokens[1])},
      {"legacy", true},
      {"model_max_length", model_max_length},
      {"pad_token", token_config(bpe.special_tokens[1])},  // DeepSeek pads with EOS
      {"sp_model_kwargs", ojson::object()},
      {"unk_token", nullptr},
      {"tokenizer_class", "LlamaTokenizerFast"},
  };
  if (!chat_template.empty()) config["chat_template"] = chat_template;
  return config.dump(2) + "\n";
}

void write_trained_tokenizer(const TrainedBpe& bpe, const std::string& dir, int64_t model_max_length,
                             const std::string& chat_template) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) fail(dir, ": cannot create the folder: ", error.message());
  write_file_atomically((std::filesystem::path(dir) / "tokenizer.json").string(), trained_tokenizer_json(bpe));
  write_file_atomically((std::filesystem::path(dir) / "tokenizer_config.json").string(),
                        trained_tokenizer_config_json(bpe, model_max_length, chat_template));
}

}  // namespace frugal
