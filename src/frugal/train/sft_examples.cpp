#include "frugal/train/sft_examples.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"

namespace frugal {
namespace {

// The same permutation for the same (seed, epoch), whatever the platform:
// std::shuffle's algorithm is unspecified, so shuffle by hand.
std::vector<int64_t> permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng() % static_cast<uint64_t>(i + 1)]);
  return order;
}

}  // namespace

std::vector<SftExample> load_sft_examples(const std::string& path, const Tokenizer& tokenizer, int64_t max_tokens) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open SFT examples ", path);
  if (!tokenizer.bos_id() || !tokenizer.eos_id())
    fail(tokenizer.source(), ": SFT needs a tokenizer with BOS and EOS tokens");
  std::vector<SftExample> examples;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(path, ":", number, ": not valid JSON: ", e.what());
    }
    if (!record.is_object() || !record.contains("prompt") || !record["prompt"].is_string() ||
        !record.contains("completion") || !record["completion"].is_string())
      fail(path, ":", number, ": expected {\"prompt\": string, \"completion\": string}");
    SftExample example;
    example.tokens.push_back(*tokenizer.bos_id());
    const std::vector<int32_t> prompt = tokenizer.encode(record["prompt"].get<std::string>());
    const std::vector<int32_t> completion = tokenizer.encode(record["completion"].get<std::string>());
    if (completion.empty()) fail(path, ":", number, ": the completion is empty");
    example.tokens.insert(example.tokens.end(), prompt.begin(), prompt.end());
    example.completion_start = static_cast<int64_t>(example.tokens.size());
    example.tokens.insert(example.tokens.end(), completion.begin(), completion.end());
    example.tokens.push_back(*tokenizer.eos_id());
    if (static_cast<int64_t>(example.tokens.size()) > max_tokens)
      fail(path, ":", number, ": ", example.tokens.size(), " tokens, more than the limit of ", max_tokens);
    examples.push_back(std::move(example));
  }
  if (examples.empty()) fail(path, ": no examples");
  return examples;
}

void split_sft_examples(std::vector<SftExample> all, double held_out_fraction, uint64_t seed,
                        std::vector<SftExample>& train, std::vector<SftExample>& held_out) {
  const int64_t n = static_cast<int64_t>(all.size());
  if (n < 2) fail("SFT needs at least 2 examples to hold one out, got ", n);
  const int64_t count = std::clamp<int64_t>(std::llround(held_out_fraction * n), 1, n - 1);
  std::vector<bool> is_held(static_cast<std::size_t>(n), false);
  const std::vector<int64_t> order = permutation(n, seed, -1);
  for (int64_t i = 0; i < count; ++i) is_held[order[i]] = true;
  train.clear();
  held_out.clear();
  for (int64_t i = 0; i < n; ++i) (is_held[i] ? held_out : train).push_back(std::move(all[i]));
}

SftBatches::SftBatches(std::vector<SftExample> examples, uint64_t seed) : examples_(std::move(examples)), seed_(seed) {
  if (examples_.empty()) fail("SFT needs at least one example");
  for (const SftExample& e : examples_) tokens_ += static_cast<int64_t>(e.tokens.size());
}

TrainingBatch SftBatches::batch(int64_t step, int batch_size) const {
  const int64_t n = static_cast<int64_t>(examples_.size());
  TrainingBatch batch;
  int64_t cached_epoch = -1;
  std::vector<int64_t> order;
  for (int b = 0; b < batch_size; ++b) {
    const int64_t position = step * batch_size + b, epoch = position / n;
    if (epoch != cached_epoch) order = permutation(n, seed_, cached_epoch = epoch);
    const SftExample& e = examples_[order[position % n]];
    batch.sequences.push_back(e.tokens);
    batch.loss_starts.push_back(e.completion_start);
  }
  return batch;
}

}  // namespace frugal
