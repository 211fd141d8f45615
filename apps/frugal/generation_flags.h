#pragma once
// Flags shared by the commands that generate text (generate, chat): sampling,
// limits, tokenizer and chat format, and their translation into options.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "frugal/generate/generator.h"
#include "frugal/model/model.h"
#include "frugal/tokenizer/chat_format.h"
#include "frugal/tokenizer/tokenizer.h"
#include "reply_printer.h"

namespace frugal::cli {

struct GenerationFlags {
  std::string model;
  std::string tokenizer;  // default: the model folder
  std::string chat_format = "auto";
  std::string system;
  SamplingParams sampling;
  bool greedy = false;
  std::optional<uint64_t> seed;
  int64_t max_tokens = 256;
  int64_t context = 0;  // 0: chosen from the prompt and max_tokens
  std::vector<std::string> stop;
  bool ignore_eos = false;
  int threads = 0;
  std::string reasoning = "show";
  std::string weights = "auto";
  std::string kv_cache = "auto";

  void add_to(CLI::App& command, int64_t default_max_tokens);
  // Applies --threads, loads the tokenizer (required, or only if present).
  std::optional<Tokenizer> load_tokenizer(bool required) const;
  ChatFormat resolve_chat_format(const Tokenizer& tokenizer) const;
  // Sampling (with the seed drawn if not given), limits and stop tokens.
  GenerationOptions options(const Model& model, const Tokenizer* tokenizer) const;
  uint64_t seed_used() const { return drawn_seed_; }
  ReasoningDisplay reasoning_display() const;

 private:
  mutable uint64_t drawn_seed_ = 0;
};

// The BOS token's text for chat rendering ("" when the tokenizer has none).
std::string bos_text(const Tokenizer& tokenizer);
// The EOS token's text, which ends replies in the compact chat format.
std::string eos_text(const Tokenizer& tokenizer);

// One line of figures for stderr: tokens, speeds, cache bytes, stop reason.
std::string generation_summary(const GenerationResult& result, DType kv_cache_dtype, uint64_t seed);

}  // namespace frugal::cli
