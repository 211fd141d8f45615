#include "frugal/data/token_dataset.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "frugal/core/error.h"
#include "frugal/io/safetensors.h"

namespace frugal {
namespace {

constexpr const char* kFormat = "frugal-tokens";

// The checks shared by reader and writer; `where` names the file.
void check_offsets(const std::string& where, std::span<const int64_t> offsets, int64_t token_count) {
  if (offsets.empty()) fail(where, ": document_offsets is empty; it needs documents + 1 entries");
  if (offsets.front() != 0) fail(where, ": document_offsets[0] is ", offsets.front(), ", expected 0");
  for (std::size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1])
      fail(where, ": document_offsets decrease at entry ", i, " (", offsets[i - 1], " then ", offsets[i], ")");
  if (offsets.back() != token_count)
    fail(where, ": the last document offset is ", offsets.back(), " but there are ", token_count, " tokens");
}

int32_t checked_max_id(const std::string& where, std::span<const int32_t> tokens, int32_t vocab_size) {
  int32_t max_id = -1;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab_size)
      fail(where, ": token ", i, " has id ", tokens[i], ", outside the vocabulary of ", vocab_size);
    max_id = std::max(max_id, tokens[i]);
  }
  return max_id;
}

const TensorView& vector_tensor(const SafetensorsFile& file, const char* name, DType dtype) {
  const TensorView& view = file.get(name);
  if (view.dtype != dtype || view.shape.size() != 1)
    fail(file.path(), ": tensor '", name, "' must be ", dtype_name(dtype), " with one dimension, got ",
         dtype_name(view.dtype), " ", view.shape_string());
  return view;
}

}  // namespace

struct TokenDataset::Storage {
  SafetensorsFile file;
  std::vector<int32_t> copied_tokens;  // only when the mapped ids are not 4-byte aligned
  std::span<const int32_t> tokens;
  std::vector<int64_t> offsets;
  int32_t max_id = -1;
  int32_t vocab_size = 0;

  explicit Storage(const std::string& path) : file(path) {}
};

TokenDataset TokenDataset::open(const std::string& path) {
  auto s = std::make_shared<Storage>(path);
  const auto& metadata = s->file.metadata();
  const auto format = metadata.find("format");
  if (format == metadata.end() || format->second != kFormat)
    fail(path, ": not a frugal token dataset (__metadata__.format is not \"", kFormat, "\")");
  const auto vocab = metadata.find("vocab_size");
  const std::string vocab_text = vocab == metadata.end() ? "" : vocab->second;
  const auto [end, error] = std::from_chars(vocab_text.data(), vocab_text.data() + vocab_text.size(), s->vocab_size);
  if (vocab_text.empty() || error != std::errc() || end != vocab_text.data() + vocab_text.size() || s->vocab_size <= 0)
    fail(path, ": __metadata__.vocab_size \"", vocab_text, "\" is not a positive number");

  const TensorView& tokens = vector_tensor(s->file, "tokens", DType::I32);
  const TensorView& offsets = vector_tensor(s->file, "document_offsets", DType::I64);
  if (reinterpret_cast<uintptr_t>(tokens.data) % alignof(int32_t) == 0) {
    s->tokens = {reinterpret_cast<const int32_t*>(tokens.data), static_cast<std::size_t>(tokens.numel())};
  } else {
    s->copied_tokens.resize(static_cast<std::size_t>(tokens.numel()));
    if (tokens.byte_size > 0) std::memcpy(s->copied_tokens.data(), tokens.data, tokens.byte_size);
    s->tokens = s->copied_tokens;
  }
  s->offsets.resize(static_cast<std::size_t>(offsets.numel()));
  if (offsets.byte_size > 0) std::memcpy(s->offsets.data(), offsets.data, offsets.byte_size);  // memcpy(null, ..., 0) is UB
  check_offsets(path, s->offsets, tokens.numel());
  s->max_id = checked_max_id(path, s->tokens, s->vocab_size);

  TokenDataset dataset;
  dataset.storage_ = std::move(s);
  return dataset;
}

int64_t TokenDataset::token_count() const { return static_cast<int64_t>(storage_->tokens.size()); }
int64_t TokenDataset::document_count() const { return static_cast<int64_t>(storage_->offsets.size()) - 1; }
std::span<const int32_t> TokenDataset::tokens() const { return storage_->tokens; }
int32_t TokenDataset::max_token_id() const { return storage_->max_id; }
int32_t TokenDataset::vocab_size() const { return storage_->vocab_size; }
const std::string& TokenDataset::path() const { return storage_->file.path(); }

std::span<const int32_t> TokenDataset::document(int64_t i) const {
  if (i < 0 || i >= document_count())
    fail(path(), ": document ", i, " does not exist (", document_count(), " documents)");
  const auto begin = static_cast<std::size_t>(storage_->offsets[i]);
  const auto end = static_cast<std::size_t>(storage_->offsets[i + 1]);
  return storage_->tokens.subspan(begin, end - begin);
}

void TokenDataset::require_vocab(int32_t vocab_size) const {
  if (max_token_id() >= vocab_size)
    fail(path(), ": holds token id ", max_token_id(), ", outside a vocabulary of ", vocab_size,
         " (was it tokenized for another model?)");
}

void write_token_dataset(const std::string& path, std::span<const int32_t> tokens,
                         std::span<const int64_t> document_offsets, int32_t vocab_size) {
  if (vocab_size <= 0) fail(path, ": vocabulary size ", vocab_size, " must be positive");
  check_offsets(path, document_offsets, static_cast<int64_t>(tokens.size()));
  checked_max_id(path, tokens, vocab_size);
  // Offsets first: their 8-byte entries stay aligned whatever the token count.
  write_safetensors(path,
                    {{"document_offsets", DType::I64, {static_cast<int64_t>(document_offsets.size())},
                      document_offsets.data()},
                     {"tokens", DType::I32, {static_cast<int64_t>(tokens.size())}, tokens.data()}},
                    {{"format", kFormat}, {"vocab_size", std::to_string(vocab_size)}});
}

}  // namespace frugal
