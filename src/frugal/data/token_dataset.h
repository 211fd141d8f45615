#pragma once
// One split of a tokenized corpus, stored as SPLIT.safetensors:
//   tokens            I32 [n]         every document's ids, concatenated
//   document_offsets  I64 [docs + 1]  document i is tokens[offsets[i], offsets[i+1])
// and __metadata__ {"format": "frugal-tokens", "vocab_size": "V"}. Reading
// maps the file (tokens are not copied when aligned) and validates it:
// offsets start at 0, never decrease and end at n; ids lie in [0, V).
//
// PackedBatches (packed_batches.cpp) cuts a split into training windows.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace frugal {

class TokenDataset {
 public:
  static TokenDataset open(const std::string& path);  // errors name the file

  int64_t token_count() const;
  int64_t document_count() const;
  std::span<const int32_t> tokens() const;
  std::span<const int32_t> document(int64_t i) const;
  int32_t max_token_id() const;  // -1 when there are no tokens
  int32_t vocab_size() const;    // as recorded by the writer
  const std::string& path() const;

  // Fails, naming the file, when an id does not fit a model of `vocab_size`.
  void require_vocab(int32_t vocab_size) const;

 private:
  struct Storage;
  std::shared_ptr<const Storage> storage_;  // copies share the mapping
};

// Consecutive windows of seq_len + 1 tokens over the concatenated documents
// (sequence packing: a window may span documents; each document starts with
// BOS so the model sees boundaries), visited in a seeded random order that is
// reshuffled every epoch. Window k holds tokens [k seq_len, (k+1) seq_len]:
// consecutive windows share one token, so every token but the first is a
// target exactly once per epoch; the tail that fills no window is unused.
// batch(step, batch_size) is a pure function of (dataset, seq_len, seed,
// step, batch_size): batch s holds the windows at positions s*batch_size ...
// of the endless sequence epoch 0, epoch 1, ..., so training resumes exactly
// at any step. Safe to call from several threads.
class PackedBatches {
 public:
  PackedBatches(const TokenDataset& dataset, int64_t seq_len, uint64_t seed);

  int64_t windows() const;  // full windows per epoch
  int64_t seq_len() const { return seq_len_; }
  std::vector<std::vector<int32_t>> batch(int64_t step, int batch_size) const;

 private:
  struct EpochOrder;
  // The window at `position` of the endless visiting order.
  int64_t window_at(int64_t position) const;

  TokenDataset dataset_;
  int64_t seq_len_;
  uint64_t seed_;
  int64_t windows_;
  std::shared_ptr<EpochOrder> order_;  // the current epoch's permutation, computed once
};

// Writes one split atomically; `document_offsets` as described above.
void write_token_dataset(const std::string& path, std::span<const int32_t> tokens,
                         std::span<const int64_t> document_offsets, int32_t vocab_size);

}  // namespace frugal
