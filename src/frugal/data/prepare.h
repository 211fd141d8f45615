#pragma once
// Turns text files into a tokenized corpus folder for training:
//   DIR/train.safetensors, DIR/heldout.safetensors  (token_dataset.h)
//   DIR/data.json      vocabulary size, BOS/EOS ids, tokens and documents per
//                      split, the inputs, seed, held-out fraction, separator
//   DIR/tokenizer.json, DIR/tokenizer_config.json   copied from the tokenizer
// Every document is encoded as BOS + text + EOS. Whole documents go to the
// held-out split: round(fraction x documents), at least one and never all,
// chosen by a seeded shuffle; both splits keep the input order.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace frugal {

struct PrepareOptions {
  std::string tokenizer;  // a folder with tokenizer.json (+ tokenizer_config.json), or the file
  std::vector<std::string> inputs;
  std::string out_dir;
  double held_out = 0.05;  // fraction of documents, in (0, 1)
  uint64_t seed = 0;
  // Documents are the parts of each file between separators; empty: each
  // file is one document.
  std::string document_separator = "\n\n";
  bool progress = false;  // a line per file on stderr
};

struct SplitCounts {
  int64_t tokens = 0;
  int64_t documents = 0;
};

struct PrepareSummary {
  int32_t vocab_size = 0;
  int32_t bos_id = 0;
  int32_t eos_id = 0;
  SplitCounts train, heldout;
};

PrepareSummary prepare_data(const PrepareOptions& options);

// The documents of `text`: the parts between occurrences of `separator`
// (the whole text when it is empty), each without its leading and trailing
// line breaks; parts that are only whitespace are dropped.
std::vector<std::string_view> split_documents(std::string_view text, std::string_view separator);

}  // namespace frugal
