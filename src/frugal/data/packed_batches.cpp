// PackedBatches (declared in token_dataset.h): seeded per-epoch window order.
#include <limits>
#include <mutex>
#include <numeric>
#include <random>

#include "frugal/core/error.h"
#include "frugal/data/token_dataset.h"

namespace frugal {
namespace {

// SplitMix64's finaliser: nearby (seed, epoch) pairs give unrelated streams.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Fisher-Yates with draws taken straight from mt19937_64 (fully specified),
// not std::shuffle or a distribution (their algorithms differ between
// standard libraries): the same seed gives the same order everywhere.
std::vector<int64_t> epoch_permutation(int64_t windows, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<std::size_t>(windows));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(mix(seed ^ mix(static_cast<uint64_t>(epoch))));
  for (int64_t i = windows - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));  // bias < i / 2^64
    std::swap(order[i], order[j]);
  }
  return order;
}

}  // namespace

struct PackedBatches::EpochOrder {
  std::mutex mutex;
  int64_t epoch = -1;
  std::vector<int64_t> windows;
};

PackedBatches::PackedBatches(const TokenDataset& dataset, int64_t seq_len, uint64_t seed)
    : dataset_(dataset), seq_len_(seq_len), seed_(seed), order_(std::make_shared<EpochOrder>()) {
  if (seq_len < 1) fail(dataset.path(), ": sequence length ", seq_len, " must be at least 1");
  if (dataset.token_count() < seq_len + 1)
    fail(dataset.path(), ": holds ", dataset.token_count(), " tokens, fewer than one window of seq_len + 1 = ",
         seq_len + 1);
  windows_ = (dataset.token_count() - 1) / seq_len;
}

int64_t PackedBatches::windows() const { return windows_; }

int64_t PackedBatches::window_at(int64_t position) const {
  const int64_t epoch = position / windows_;
  const std::lock_guard lock(order_->mutex);
  if (order_->epoch != epoch) {
    order_->windows = epoch_permutation(windows_, seed_, epoch);
    order_->epoch = epoch;
  }
  return order_->windows[static_cast<std::size_t>(position % windows_)];
}

std::vector<std::vector<int32_t>> PackedBatches::batch(int64_t step, int batch_size) const {
  if (step < 0) fail("batch step ", step, " must not be negative");
  if (batch_size < 1) fail("batch size ", batch_size, " must be at least 1");
  if (step > std::numeric_limits<int64_t>::max() / batch_size - 1) fail("batch step ", step, " is too large");
  const std::span<const int32_t> tokens = dataset_.tokens();
  std::vector<std::vector<int32_t>> batch;
  batch.reserve(static_cast<std::size_t>(batch_size));
  for (int j = 0; j < batch_size; ++j) {
    const int64_t begin = window_at(step * batch_size + j) * seq_len_;
    const auto window = tokens.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(seq_len_ + 1));
    batch.emplace_back(window.begin(), window.end());
  }
  return batch;
}

}  // namespace frugal
