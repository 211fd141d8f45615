#pragma once
// Writes a trained byte-level BPE as a Hugging Face tokenizer folder that
// frugal's Tokenizer::load and Hugging Face `tokenizers` both read:
// tokenizer.json laid out like DeepSeek-V3's (empty normalizer, its Split
// pre-tokenizer steps plus ByteLevel, ByteLevel post-processor and decoder,
// a BPE model without byte fallback) and tokenizer_config.json naming BOS and
// EOS with add_bos_token true. Special tokens are added tokens only (not in
// model.vocab): BOS and EOS with "special": true, the extra ones (<think>,
// <answer>, ...) with false as DeepSeek-R1 marks <think>, so decoding with
// skip_special_tokens keeps them. The vocabulary is listed in id order.
#include <cstdint>
#include <string>

#include "frugal/tokenizer/bpe_trainer.h"

namespace frugal {

std::string trained_tokenizer_json(const TrainedBpe& bpe);
// `chat_template`, when not empty, is written as the config's chat_template.
std::string trained_tokenizer_config_json(const TrainedBpe& bpe, int64_t model_max_length,
                                          const std::string& chat_template = "");

// DIR/tokenizer.json and DIR/tokenizer_config.json, each written atomically;
// the folder is created when missing.
void write_trained_tokenizer(const TrainedBpe& bpe, const std::string& dir, int64_t model_max_length = 131072,
                             const std::string& chat_template = "");

}  // namespace frugal
