// Token datasets on disk (round trip, validation naming the file) and the
// packed training windows drawn from them (shape, one visit per window per
// epoch, reshuffled epochs, seeds, a pure function of the step).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <set>

#include "frugal/data/token_dataset.h"
#include "frugal/io/safetensors.h"
#include "support/test_support.h"

namespace frugal {
namespace {

// Ids 0 .. n-1 in one document: a window's first id tells which window it is.
TokenDataset counting_dataset(int32_t n) {
  std::vector<int32_t> tokens(static_cast<std::size_t>(n));
  std::iota(tokens.begin(), tokens.end(), 0);
  const std::vector<int64_t> offsets = {0, n};
  const std::string path = test::make_temp_dir() + "/train.safetensors";
  write_token_dataset(path, tokens, offsets, n);
  return TokenDataset::open(path);
}

// Writes a raw file in the dataset layout, without the writer's checks.
std::string raw_dataset(const std::vector<int32_t>& tokens, const std::vector<int64_t>& offsets,
                        const std::map<std::string, std::string>& metadata = {{"format", "frugal-tokens"},
                                                                              {"vocab_size", "100"}}) {
  const std::string path = test::make_temp_dir() + "/bad.safetensors";
  write_safetensors(path,
                    {{"tokens", DType::I32, {static_cast<int64_t>(tokens.size())}, tokens.data()},
                     {"document_offsets", DType::I64, {static_cast<int64_t>(offsets.size())}, offsets.data()}},
                    metadata);
  return path;
}

testing::AssertionResult open_fails(const std::string& path, const std::vector<std::string>& parts) {
  std::vector<std::string> all = parts;
  all.push_back(path);
  return test::throws_error_mentioning([&] { TokenDataset::open(path); }, all);
}

TEST(TokenDataset, RoundTrip) {
  const std::vector<int32_t> tokens = {0, 5, 6, 1, 0, 1, 0, 7, 7, 8, 1};
  const std::vector<int64_t> offsets = {0, 4, 6, 6, 11};  // document 2 is empty
  const std::string dir = test::make_temp_dir();
  write_token_dataset(dir + "/train.safetensors", tokens, offsets, 9);
  EXPECT_TRUE(test::temp_files_in(dir).empty());

  const TokenDataset d = TokenDataset::open(dir + "/train.safetensors");
  EXPECT_EQ(d.token_count(), 11);
  EXPECT_EQ(d.document_count(), 4);
  EXPECT_EQ(std::vector<int32_t>(d.tokens().begin(), d.tokens().end()), tokens);
  EXPECT_EQ(std::vector<int32_t>(d.document(0).begin(), d.document(0).end()), (std::vector<int32_t>{0, 5, 6, 1}));
  EXPECT_EQ(std::vector<int32_t>(d.document(1).begin(), d.document(1).end()), (std::vector<int32_t>{0, 1}));
  EXPECT_TRUE(d.document(2).empty());
  EXPECT_EQ(std::vector<int32_t>(d.document(3).begin(), d.document(3).end()), (std::vector<int32_t>{0, 7, 7, 8, 1}));
  EXPECT_EQ(d.max_token_id(), 8);
  EXPECT_EQ(d.vocab_size(), 9);
  EXPECT_TRUE(
      test::throws_error_mentioning([&] { d.document(4); }, {"train.safetensors", "document 4", "4 documents"}));
  EXPECT_TRUE(test::throws_error_mentioning([&] { d.require_vocab(8); }, {"train.safetensors", "8"}));
  d.require_vocab(9);

  const SafetensorsFile file(dir + "/train.safetensors");
  EXPECT_EQ(file.get("tokens").dtype, DType::I32);
  EXPECT_EQ(file.get("document_offsets").dtype, DType::I64);
  EXPECT_EQ(file.get("document_offsets").shape, (std::vector<int64_t>{5}));
}

TEST(TokenDataset, MisalignedTokensAreCopied) {
  // Another writer may put the ids at an odd offset; they are read all the same.
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5};
  const std::vector<int64_t> offsets = {0, 5};
  const uint8_t pad = 0;
  const std::string path = test::make_temp_dir() + "/odd.safetensors";
  write_safetensors(path,
                    {{"pad", DType::U8, {1}, &pad},
                     {"tokens", DType::I32, {5}, tokens.data()},
                     {"document_offsets", DType::I64, {2}, offsets.data()}},
                    {{"format", "frugal-tokens"}, {"vocab_size", "6"}});
  const TokenDataset d = TokenDataset::open(path);
  EXPECT_EQ(std::vector<int32_t>(d.tokens().begin(), d.tokens().end()), tokens);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(d.tokens().data()) % alignof(int32_t), 0u);
}

TEST(TokenDataset, CorruptFilesAreRefusedNamingTheFile) {
  EXPECT_TRUE(open_fails(raw_dataset({1, 2, 3}, {0, 2, 1, 3}), {"document_offsets decrease at entry 2", "2 then 1"}));
  EXPECT_TRUE(open_fails(raw_dataset({1, 2, 3}, {0, 2}), {"last document offset is 2", "3 tokens"}));
  EXPECT_TRUE(open_fails(raw_dataset({1, 2, 3}, {1, 3}), {"document_offsets[0] is 1"}));
  EXPECT_TRUE(open_fails(raw_dataset({1, 2, 3}, {}), {"document_offsets is empty"}));
  EXPECT_TRUE(open_fails(raw_dataset({1, 100, 3}, {0, 3}), {"token 1 has id 100", "vocabulary of 100"}));
  EXPECT_TRUE(open_fails(raw_dataset({1, -2, 3}, {0, 3}), {"token 1 has id -2"}));
  EXPECT_TRUE(open_fails(raw_dataset({1}, {0, 1}, {}), {"not a frugal token dataset"}));
  EXPECT_TRUE(open_fails(raw_dataset({1}, {0, 1}, {{"format", "frugal-tokens"}, {"vocab_size", "many"}}),
                         {"vocab_size"}));

  const std::vector<int64_t> wide = {1, 2};
  const std::vector<int64_t> offsets = {0, 2};
  const std::string path = test::make_temp_dir() + "/wide.safetensors";
  write_safetensors(path,
                    {{"tokens", DType::I64, {2}, wide.data()}, {"document_offsets", DType::I64, {2}, offsets.data()}},
                    {{"format", "frugal-tokens"}, {"vocab_size", "10"}});
  EXPECT_TRUE(open_fails(path, {"'tokens' must be I32", "I64 [2]"}));
  EXPECT_TRUE(open_fails("/nonexistent/train.safetensors", {}));

  // The writer refuses the same mistakes and leaves nothing behind.
  const std::string dir = test::make_temp_dir();
  EXPECT_TRUE(test::throws_error_mentioning(
      [&] { write_token_dataset(dir + "/x.safetensors", std::vector<int32_t>{1, 2}, std::vector<int64_t>{0, 1}, 5); },
      {"x.safetensors", "last document offset is 1"}));
  EXPECT_TRUE(test::throws_error_mentioning(
      [&] { write_token_dataset(dir + "/x.safetensors", std::vector<int32_t>{1, 7}, std::vector<int64_t>{0, 2}, 5); },
      {"x.safetensors", "id 7", "vocabulary of 5"}));
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(PackedBatches, WindowsHaveSeqLenPlusOneConsecutiveTokens) {
  const TokenDataset d = counting_dataset(1001);
  const PackedBatches batches(d, 10, 42);
  EXPECT_EQ(batches.windows(), 100);  // (1001 - 1) / 10: windows share their edge token
  for (int64_t step = 0; step < 30; ++step) {
    const auto batch = batches.batch(step, 4);
    ASSERT_EQ(batch.size(), 4u);
    for (const auto& window : batch) {
      ASSERT_EQ(window.size(), 11u);
      EXPECT_EQ(window.front() % 10, 0);
      for (std::size_t i = 1; i < window.size(); ++i) EXPECT_EQ(window[i], window[0] + static_cast<int32_t>(i));
    }
  }
  // 1005 tokens: the 4 past the last full window are never used.
  EXPECT_EQ(PackedBatches(counting_dataset(1005), 10, 42).windows(), 100);
}

// The windows (by first id / seq_len) of the positions [first, first + count).
std::vector<int32_t> windows_visited(const PackedBatches& batches, int batch_size, int64_t first_step, int64_t steps) {
  std::vector<int32_t> out;
  for (int64_t s = first_step; s < first_step + steps; ++s)
    for (const auto& window : batches.batch(s, batch_size))
      out.push_back(window[0] / static_cast<int32_t>(batches.seq_len()));
  return out;
}

TEST(PackedBatches, EveryWindowOncePerEpochInAFreshOrder) {
  const TokenDataset d = counting_dataset(1001);
  const PackedBatches batches(d, 10, 7);
  const auto epoch0 = windows_visited(batches, 10, 0, 10);
  const auto epoch1 = windows_visited(batches, 10, 10, 10);
  for (const auto& epoch : {epoch0, epoch1}) {
    std::vector<int32_t> sorted = epoch;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int32_t> all(100);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(sorted, all);
  }
  EXPECT_NE(epoch0, epoch1);
  std::vector<int32_t> identity(100);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_NE(epoch0, identity);

  // A batch size that does not divide the windows: the epoch ends mid-batch.
  const auto odd = windows_visited(batches, 7, 0, 15);  // positions 0..104
  EXPECT_EQ(std::vector<int32_t>(odd.begin(), odd.begin() + 100), epoch0);
  EXPECT_EQ(std::vector<int32_t>(odd.begin() + 100, odd.end()),
            std::vector<int32_t>(epoch1.begin(), epoch1.begin() + 5));
}

TEST(PackedBatches, APureFunctionOfSeedAndStep) {
  const TokenDataset d = counting_dataset(1001);
  const PackedBatches a(d, 10, 7), b(d, 10, 7), other(d, 10, 8);
  // Out of order and across epochs, on a fresh object: the same windows.
  for (int64_t step : {37, 3, 12, 0, 99, 3}) EXPECT_EQ(a.batch(step, 5), b.batch(step, 5)) << step;
  for (int64_t step : {3, 37, 99, 12}) EXPECT_EQ(b.batch(step, 5), a.batch(step, 5)) << step;
  // Batch s of size k holds positions s*k .. s*k+k-1 of one endless order.
  const auto five = a.batch(2, 5);  // positions 10..14
  const auto two = a.batch(5, 2), next = a.batch(6, 2);  // 10, 11 and 12, 13
  EXPECT_EQ(five[0], two[0]);
  EXPECT_EQ(five[1], two[1]);
  EXPECT_EQ(five[2], next[0]);
  EXPECT_EQ(five[3], next[1]);
  EXPECT_NE(windows_visited(a, 10, 0, 10), windows_visited(other, 10, 0, 10));
}

TEST(PackedBatches, RefusesADatasetShorterThanOneWindow) {
  const TokenDataset d = counting_dataset(10);
  EXPECT_TRUE(test::throws_error_mentioning([&] { PackedBatches(d, 10, 1); },
                                            {"train.safetensors", "10 tokens", "seq_len + 1 = 11"}));
  EXPECT_EQ(PackedBatches(d, 9, 1).windows(), 1);
  EXPECT_TRUE(test::throws_error_mentioning([&] { PackedBatches(d, 0, 1); }, {"sequence length 0"}));
  const PackedBatches ok(d, 3, 1);
  EXPECT_TRUE(test::throws_error_mentioning([&] { ok.batch(-1, 2); }, {"step -1"}));
  EXPECT_TRUE(test::throws_error_mentioning([&] { ok.batch(0, 0); }, {"batch size 0"}));
}

}  // namespace
}  // namespace frugal
