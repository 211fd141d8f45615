#include "frugal/data/prepare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/core/mapped_file.h"
#include "frugal/core/thread_pool.h"
#include "frugal/data/token_dataset.h"
#include "frugal/io/checkpoint.h"
#include "frugal/tokenizer/tokenizer.h"
#include "frugal/tokenizer/utf8.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool is_line_break(char c) { return c == '\r' || c == '\n'; }

std::string_view trim_line_breaks(std::string_view part) {
  while (!part.empty() && is_line_break(part.front())) part.remove_prefix(1);
  while (!part.empty() && is_line_break(part.back())) part.remove_suffix(1);
  return part;
}

// The held-out documents: `count` of `total`, drawn by a seeded Fisher-Yates
// over mt19937_64's raw output (the same on every standard library).
std::vector<bool> held_out_documents(int64_t total, int64_t count, uint64_t seed) {
  std::vector<int64_t> order(static_cast<std::size_t>(total));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  for (int64_t i = total - 1; i > 0; --i)
    std::swap(order[i], order[static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1))]);
  std::vector<bool> held(static_cast<std::size_t>(total), false);
  for (int64_t i = 0; i < count; ++i) held[order[i]] = true;
  return held;
}

SplitCounts write_split(const std::string& path, const std::vector<std::vector<int32_t>>& documents,
                        const std::vector<bool>& held, bool want_held, int32_t vocab_size) {
  std::vector<int32_t> tokens;
  std::vector<int64_t> offsets = {0};
  for (std::size_t d = 0; d < documents.size(); ++d) {
    if (held[d] != want_held) continue;
    tokens.insert(tokens.end(), documents[d].begin(), documents[d].end());
    offsets.push_back(static_cast<int64_t>(tokens.size()));
  }
  write_token_dataset(path, tokens, offsets, vocab_size);
  return {static_cast<int64_t>(tokens.size()), static_cast<int64_t>(offsets.size()) - 1};
}

ojson split_json(const char* file, const SplitCounts& counts) {
  return {{"file", file}, {"tokens", counts.tokens}, {"documents", counts.documents}};
}

}  // namespace

std::vector<std::string_view> split_documents(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> documents;
  auto add = [&](std::string_view part) {
    part = trim_line_breaks(part);
    for (char c : part) {
      if (!is_blank(c)) {
        documents.push_back(part);
        return;
      }
    }
  };
  if (separator.empty()) {
    add(text);
    return documents;
  }
  std::size_t begin = 0;
  for (std::size_t at = text.find(separator); at != std::string_view::npos; at = text.find(separator, begin)) {
    add(text.substr(begin, at - begin));
    begin = at + separator.size();
  }
  add(text.substr(begin));
  return documents;
}

PrepareSummary prepare_data(const PrepareOptions& options) {
  if (options.inputs.empty()) fail("no input files given");
  if (!(options.held_out > 0.0 && options.held_out < 1.0))
    fail("held-out fraction ", options.held_out, " must lie strictly between 0 and 1");

  const Tokenizer tokenizer = Tokenizer::load(options.tokenizer);
  if (!tokenizer.bos_id() || !tokenizer.eos_id())
    fail(tokenizer.source(), ": the tokenizer names no ", tokenizer.bos_id() ? "EOS" : "BOS",
         " token (bos_token / eos_token in tokenizer_config.json); documents need both");
  PrepareSummary summary;
  summary.vocab_size = tokenizer.vocab_size();
  summary.bos_id = *tokenizer.bos_id();
  summary.eos_id = *tokenizer.eos_id();

  // Every document as BOS + ids + EOS, in input order.
  std::vector<std::vector<int32_t>> documents;
  for (const std::string& input : options.inputs) {
    if (!fs::is_regular_file(input)) fail(input, ": not a readable file (input text)");
    const std::string text = read_text_file(input);
    if (const std::size_t bad = first_invalid_utf8(text); bad != std::string::npos)
      std::fprintf(stderr, "warning: %s: invalid UTF-8 at byte %zu; invalid sequences are encoded as U+FFFD\n",
                   input.c_str(), bad);
    const std::vector<std::string_view> parts = split_documents(text, options.document_separator);
    const std::size_t first = documents.size();
    documents.resize(first + parts.size());
    std::mutex mutex;
    std::exception_ptr failure;  // the pool does not carry exceptions across threads
    ThreadPool::global().parallel_for(parts.size(), [&](std::size_t begin, std::size_t end) {
      try {
        for (std::size_t i = begin; i < end; ++i) {
          std::vector<int32_t>& ids = documents[first + i];
          ids.push_back(summary.bos_id);
          const std::vector<int32_t> body = tokenizer.encode(parts[i]);
          ids.insert(ids.end(), body.begin(), body.end());
          ids.push_back(summary.eos_id);
        }
      } catch (...) {
        const std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
      }
    });
    if (failure) std::rethrow_exception(failure);
    if (options.progress) {
      std::size_t tokens = 0;
      for (std::size_t d = first; d < documents.size(); ++d) tokens += documents[d].size();
      std::fprintf(stderr, "encoded %s: %.1f MB, %zu documents, %zu tokens\n", input.c_str(),
                   static_cast<double>(text.size()) / 1e6, parts.size(), tokens);
    }
  }

  const auto total = static_cast<int64_t>(documents.size());
  if (total < 2)
    fail("the inputs hold ", total, " document", total == 1 ? "" : "s",
         "; the train and held-out splits need at least one each (is the document separator right?)");
  const int64_t held_count =
      std::clamp<int64_t>(std::llround(options.held_out * static_cast<double>(total)), 1, total - 1);
  const std::vector<bool> held = held_out_documents(total, held_count, options.seed);

  std::error_code error;
  fs::create_directories(options.out_dir, error);
  if (error) fail(options.out_dir, ": cannot create the folder: ", error.message());
  const fs::path out = options.out_dir;
  summary.train = write_split((out / "train.safetensors").string(), documents, held, false, summary.vocab_size);
  summary.heldout = write_split((out / "heldout.safetensors").string(), documents, held, true, summary.vocab_size);

  const fs::path source = fs::is_directory(options.tokenizer) ? fs::path(options.tokenizer)
                                                               : fs::path(options.tokenizer).parent_path();
  const fs::path tokenizer_json =
      fs::is_directory(options.tokenizer) ? source / "tokenizer.json" : fs::path(options.tokenizer);
  write_file_atomically((out / "tokenizer.json").string(), read_text_file(tokenizer_json.string()));
  if (fs::exists(source / "tokenizer_config.json"))
    write_file_atomically((out / "tokenizer_config.json").string(),
                          read_text_file((source / "tokenizer_config.json").string()));

  const ojson data = {
      {"format", "frugal-tokens"},
      {"tokenizer", {{"vocab_size", summary.vocab_size}, {"bos_id", summary.bos_id}, {"eos_id", summary.eos_id}}},
      {"splits", {{"train", split_json("train.safetensors", summary.train)},
                  {"heldout", split_json("heldout.safetensors", summary.heldout)}}},
      {"inputs", options.inputs},
      {"seed", options.seed},
      {"held_out", options.held_out},
      {"document_separator", options.document_separator.empty() ? ojson(nullptr) : ojson(options.document_separator)},
  };
  write_file_atomically((out / "data.json").string(), data.dump(2) + "\n");
  return summary;
}

}  // namespace frugal
