// safetensors reading and writing: round trips, the on-disk layout, atomic
// replacement, and a rejection (naming file and tensor) for every way a
// header can lie about the data.
#include "frugal/io/safetensors.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "support/test_support.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;

uint64_t header_length_of(const std::string& file_bytes) {
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(file_bytes[i]);
  return length;
}

std::string little_endian_u64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return out;
}

// ---- Round trip ---------------------------------------------------------------

TEST(SafetensorsRoundTrip, ReadsBackEveryTensorAndTheMetadata) {
  const std::string path = test::make_temp_dir() + "/round_trip.safetensors";
  const std::vector<float> weights = {1.0f, -2.5f, 3.25f, 0.0f, 1e-8f, -7.0f};
  const std::vector<uint16_t> bf16 = {0x3F80, 0xC000, 0x3FC0, 0x0000};  // 1, -2, 1.5, 0
  const std::vector<int32_t> ids = {7, -1, 2147483647};
  write_safetensors(path,
                    {{"weights", DType::F32, {2, 3}, weights.data()},
                     {"half.norm", DType::BF16, {4}, bf16.data()},
                     {"ids", DType::I32, {3}, ids.data()},
                     {"empty", DType::F32, {0, 5}, nullptr}},
                    {{"producer", "frugal tests"}, {"format", "pt"}});

  const SafetensorsFile file(path);
  EXPECT_EQ(file.path(), path);
  ASSERT_EQ(file.tensors().size(), 4u);
  EXPECT_EQ(file.metadata(),
            (std::map<std::string, std::string>{{"producer", "frugal tests"}, {"format", "pt"}}));

  const TensorView& w = file.get("weights");
  EXPECT_EQ(w.dtype, DType::F32);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w.numel(), 6);
  EXPECT_EQ(w.byte_size, 24u);
  EXPECT_EQ(w.shape_string(), "[2, 3]");
  EXPECT_EQ(w.file, path);
  EXPECT_EQ(w.to_f32(), weights);

  const TensorView& h = file.get("half.norm");
  EXPECT_EQ(h.dtype, DType::BF16);
  EXPECT_EQ(h.byte_size, 8u);
  EXPECT_EQ(std::memcmp(h.data, bf16.data(), 8), 0);
  EXPECT_EQ(h.to_f32(), (std::vector<float>{1.0f, -2.0f, 1.5f, 0.0f}));

  const TensorView& i = file.get("ids");
  EXPECT_EQ(i.dtype, DType::I32);
  ASSERT_EQ(i.byte_size, 12u);
  int32_t read_ids[3];
  std::memcpy(read_ids, i.data, sizeof read_ids);
  EXPECT_EQ(std::vector<int32_t>(read_ids, read_ids + 3), ids);
  EXPECT_TRUE(test::throws_error_mentioning([&] { i.to_f32(); }, {"ids", "I32"}));

  const TensorView& e = file.get("empty");
  EXPECT_EQ(e.shape, (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(e.byte_size, 0u);
  EXPECT_TRUE(e.to_f32().empty());
}

TEST(SafetensorsRoundTrip, LookupOfAnAbsentTensorNamesFileAndTensor) {
  const std::string path = test::make_temp_dir() + "/one.safetensors";
  const float value = 1.0f;
  write_safetensors(path, {{"present", DType::F32, {1}, &value}});
  const SafetensorsFile file(path);
  EXPECT_EQ(file.find("absent"), nullptr);
  EXPECT_NE(file.find("present"), nullptr);
  EXPECT_TRUE(file.metadata().empty());
  EXPECT_TRUE(test::throws_error_mentioning([&] { file.get("absent"); }, {path, "absent"}));
}

TEST(SafetensorsRoundTrip, DataSectionStartsEightByteAligned) {
  // Names of every length modulo 8 give headers of every length modulo 8.
  const std::string dir = test::make_temp_dir();
  const float value = 2.0f;
  for (std::string name = "t"; name.size() <= 8; name += "x") {
    const std::string path = dir + "/" + name + ".safetensors";
    write_safetensors(path, {{name, DType::F32, {1}, &value}});
    const std::string bytes = test::read_bytes(path);
    const uint64_t header_length = header_length_of(bytes);
    EXPECT_EQ((8 + header_length) % 8, 0u) << "tensor name " << name;
    ASSERT_EQ(bytes.size(), 8 + header_length + sizeof value);
    float stored;
    std::memcpy(&stored, bytes.data() + 8 + header_length, sizeof stored);
    EXPECT_EQ(stored, value);
  }
}

TEST(SafetensorsRoundTrip, RejectsDuplicateAndReservedNames) {
  const std::string path = test::make_temp_dir() + "/bad_names.safetensors";
  const float value = 1.0f;
  EXPECT_TRUE(test::throws_error_mentioning(
      [&] { write_safetensors(path, {{"a", DType::F32, {1}, &value}, {"a", DType::F32, {1}, &value}}); },
      {path, "'a'"}));
  EXPECT_TRUE(test::throws_error_mentioning(
      [&] { write_safetensors(path, {{"__metadata__", DType::F32, {1}, &value}}); }, {path}));
  EXPECT_FALSE(fs::exists(path));
}

// ---- Atomic writes --------------------------------------------------------------

TEST(SafetensorsAtomicWrite, LeavesOnlyTheTargetFile) {
  const std::string dir = test::make_temp_dir();
  const float value = 1.0f;
  write_safetensors(dir + "/out.safetensors", {{"x", DType::F32, {1}, &value}});
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"out.safetensors"});
}

TEST(SafetensorsAtomicWrite, ReplacesAnExistingFile) {
  const std::string dir = test::make_temp_dir();
  const std::string path = dir + "/out.safetensors";
  test::write_bytes(path, "old contents that are not a safetensors file");
  const std::vector<float> values = {4.0f, 5.0f};
  write_safetensors(path, {{"fresh", DType::F32, {2}, values.data()}});
  const SafetensorsFile file(path);
  EXPECT_EQ(file.get("fresh").to_f32(), values);
  EXPECT_TRUE(test::temp_files_in(dir).empty());
}

TEST(SafetensorsAtomicWrite, FailedWriteThrowsAndLeavesNoTemporary) {
  const std::string dir = test::make_temp_dir();
  const std::string path = dir + "/no_such_folder/out.safetensors";
  const float value = 1.0f;
  EXPECT_TRUE(test::throws_error_mentioning(
      [&] { write_safetensors(path, {{"x", DType::F32, {1}, &value}}); }, {path}));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(SafetensorsAtomicWrite, RejectedWriteLeavesTheOldFileIntact) {
  const std::string dir = test::make_temp_dir();
  const std::string path = dir + "/out.safetensors";
  const float value = 3.0f;
  write_safetensors(path, {{"kept", DType::F32, {1}, &value}});
  const std::string before = test::read_bytes(path);
  EXPECT_TRUE(test::throws_error_mentioning(
      [&] { write_safetensors(path, {{"neg", DType::F32, {-1}, &value}}); }, {path, "neg"}));
  EXPECT_EQ(test::read_bytes(path), before);
  EXPECT_TRUE(test::temp_files_in(dir).empty());
}

// ---- Malformed files ----------------------------------------------------------------

class MalformedSafetensors : public testing::Test {
 protected:
  // Writes the raw bytes and checks that opening them fails with a message
  // naming the file and each of `parts`.
  void expect_rejected_bytes(const std::string& bytes, std::initializer_list<std::string> parts) {
    const std::string path = dir_ + "/case" + std::to_string(++cases_) + ".safetensors";
    test::write_bytes(path, bytes);
    std::vector<std::string> expected(parts);
    expected.push_back(path);
    EXPECT_TRUE(test::throws_error_mentioning([&] { SafetensorsFile file(path); }, expected));
  }
  void expect_rejected(const std::string& header, const std::string& data,
                       std::initializer_list<std::string> parts) {
    expect_rejected_bytes(test::safetensors_bytes(header, data), parts);
  }

  const std::string dir_ = test::make_temp_dir();
  int cases_ = 0;
};

TEST_F(MalformedSafetensors, FileShorterThanTheLengthField) {
  expect_rejected_bytes("", {"too short"});
  expect_rejected_bytes("abc", {"too short", "3 bytes"});
}

TEST_F(MalformedSafetensors, HeaderLengthAboveTheCap) {
  expect_rejected_bytes(little_endian_u64(kMaxSafetensorsHeaderBytes + 1) + "{}",
                        {"exceeds the limit", std::to_string(kMaxSafetensorsHeaderBytes + 1)});
  // A length near 2^64 must not wrap around in any size arithmetic.
  expect_rejected_bytes(little_endian_u64(~0ull) + "{}", {"exceeds the limit"});
}

TEST_F(MalformedSafetensors, HeaderLengthPastTheEndOfTheFile) {
  expect_rejected_bytes(little_endian_u64(1000) + "{}", {"header length 1000", "past the end"});
}

TEST_F(MalformedSafetensors, TruncatedData) {
  const std::string path = dir_ + "/whole.safetensors";
  const std::vector<float> first(4, 1.0f), last(4, 2.0f);
  write_safetensors(path, {{"first", DType::F32, {4}, first.data()},
                           {"last.weight", DType::F32, {4}, last.data()}});
  std::string bytes = test::read_bytes(path);
  bytes.resize(bytes.size() - 3);
  expect_rejected_bytes(bytes, {"last.weight", "truncated"});
}

TEST_F(MalformedSafetensors, HeaderIsNotJson) {
  expect_rejected(R"({"w": {"dtype": "F32",)", "", {"not valid JSON"});
}

TEST_F(MalformedSafetensors, HeaderIsNotAnObject) {
  expect_rejected("[1, 2, 3]", "", {"not a JSON object"});
}

TEST_F(MalformedSafetensors, UnknownDtype) {
  expect_rejected(R"({"layer.weight": {"dtype": "F12", "shape": [1], "data_offsets": [0, 4]}})",
                  std::string(4, '\0'), {"layer.weight", "unknown dtype", "F12"});
}

TEST_F(MalformedSafetensors, NegativeShapeEntry) {
  expect_rejected(R"({"layer.weight": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 0]}})",
                  "", {"layer.weight", "shape", "[2,-1]"});
}

TEST_F(MalformedSafetensors, DataOffsetsPastTheEnd) {
  expect_rejected(R"({"layer.weight": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
                  std::string(12, '\0'), {"layer.weight", "[0, 16]", "past the end", "12 bytes"});
}

TEST_F(MalformedSafetensors, ReversedDataOffsets) {
  expect_rejected(R"({"layer.weight": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})",
                  std::string(8, '\0'), {"layer.weight", "[8, 4]", "reversed"});
}

TEST_F(MalformedSafetensors, SizeDisagreesWithDtypeAndShape) {
  // BF16 x [3] needs 6 bytes; the offsets claim 8 (an F32 x [2] span).
  expect_rejected(R"({"layer.weight": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 8]}})",
                  std::string(8, '\0'), {"layer.weight", "BF16", "[3]", "needs 6 bytes", "span 8"});
}

TEST_F(MalformedSafetensors, OverlappingTensors) {
  expect_rejected(R"({"alpha": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "beta": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                  std::string(12, '\0'), {"'alpha'", "'beta'", "overlap"});
}

TEST_F(MalformedSafetensors, IdenticalSpansOverlap) {
  expect_rejected(R"({"alpha": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "beta": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]}})",
                  std::string(8, '\0'), {"'alpha'", "'beta'", "overlap"});
}

TEST_F(MalformedSafetensors, MissingDataOffsets) {
  expect_rejected(R"({"layer.weight": {"dtype": "F32", "shape": [1]}})", std::string(4, '\0'),
                  {"layer.weight", "data_offsets"});
}

TEST_F(MalformedSafetensors, MetadataValueIsNotAString) {
  expect_rejected(R"({"__metadata__": {"step": 3}})", "", {"__metadata__", "step"});
}

TEST_F(MalformedSafetensors, AdjacentAndEmptyTensorsAreAccepted) {
  // The counterpart of the overlap checks: touching spans and zero-size
  // tensors sharing an offset are legal and must load.
  const std::string path = dir_ + "/adjacent.safetensors";
  test::write_bytes(path, test::safetensors_bytes(
                              R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                  "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
                                  "z": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}})",
                              std::string(8, '\0')));
  const SafetensorsFile file(path);
  EXPECT_EQ(file.tensors().size(), 3u);
  EXPECT_EQ(file.get("b").byte_size, 4u);
}

}  // namespace
}  // namespace frugal
