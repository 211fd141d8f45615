// Checkpoint folders: single-file and sharded layouts, and the errors for an
// index that disagrees with the files beside it.
#include "frugal/io/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "support/test_support.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;

const std::string kShard1 = "model-00001-of-00002.safetensors";
const std::string kShard2 = "model-00002-of-00002.safetensors";
const std::string kIndexName = "model.safetensors.index.json";

testing::AssertionResult opening_fails_mentioning(const std::string& dir,
                                                  const std::vector<std::string>& parts) {
  return test::throws_error_mentioning([&] { Checkpoint checkpoint(dir); }, parts);
}

std::string golden_checkpoint(const std::string& variant) {
  return test::data_path("golden/" + variant + "/checkpoint");
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(test::read_bytes(path));
}

TEST(Checkpoint, ShardedCheckpointFindsEveryTensorInItsShard) {
  const std::string dir = golden_checkpoint("v3-tiny");
  const Checkpoint checkpoint(dir);
  EXPECT_EQ(checkpoint.dir(), dir);
  EXPECT_EQ(checkpoint.files().size(), 2u);

  const nlohmann::json weight_map = read_json(dir + "/" + kIndexName)["weight_map"];
  EXPECT_EQ(checkpoint.all_tensors().size(), weight_map.size());
  std::size_t in_first = 0, in_second = 0;
  for (const auto& [name, shard] : weight_map.items()) {
    const TensorView& view = checkpoint.get(name);
    EXPECT_EQ(view.name, name);
    EXPECT_EQ(fs::path(view.file).filename().string(), shard.get<std::string>())
        << name << " found in " << view.file;
    (shard == kShard1 ? in_first : in_second)++;
  }
  // Both shards really are used, so the lookup crossed files.
  EXPECT_GT(in_first, 0u);
  EXPECT_GT(in_second, 0u);

  const TensorView* embedding = checkpoint.find("model.embed_tokens.weight");
  ASSERT_NE(embedding, nullptr);
  EXPECT_EQ(embedding->dtype, DType::BF16);
  EXPECT_EQ(embedding->shape, (std::vector<int64_t>{512, 64}));
  EXPECT_TRUE(checkpoint.contains("lm_head.weight"));
}

TEST(Checkpoint, AllTensorsComeInNameOrder) {
  const Checkpoint checkpoint(golden_checkpoint("v3-tiny"));
  const auto tensors = checkpoint.all_tensors();
  ASSERT_FALSE(tensors.empty());
  for (std::size_t i = 1; i < tensors.size(); ++i)
    EXPECT_LT(tensors[i - 1]->name, tensors[i]->name);
}

TEST(Checkpoint, SingleFileCheckpointOpens) {
  const Checkpoint checkpoint(golden_checkpoint("v2-tiny"));
  ASSERT_EQ(checkpoint.files().size(), 1u);
  EXPECT_EQ(checkpoint.all_tensors().size(), checkpoint.files()[0]->tensors().size());
  EXPECT_TRUE(checkpoint.contains("model.layers.1.self_attn.o_proj.weight"));
  EXPECT_EQ(checkpoint.get("model.norm.weight").shape, (std::vector<int64_t>{64}));
}

TEST(Checkpoint, AbsentTensorIsNamedWithTheFolder) {
  const std::string dir = golden_checkpoint("v2-tiny");
  const Checkpoint checkpoint(dir);
  EXPECT_EQ(checkpoint.find("model.layers.9.mlp.gate.weight"), nullptr);
  EXPECT_FALSE(checkpoint.contains("model.layers.9.mlp.gate.weight"));
  EXPECT_TRUE(test::throws_error_mentioning([&] { checkpoint.get("model.layers.9.mlp.gate.weight"); },
                                      {dir, "model.layers.9.mlp.gate.weight"}));
}

TEST(Checkpoint, IndexNamingADeletedShardFails) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny");
  fs::remove(dir + "/" + kShard2);
  EXPECT_TRUE(opening_fails_mentioning(dir, {kIndexName, kShard2, "does not exist"}));
}

TEST(Checkpoint, IndexMappingATensorToTheWrongShardFails) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny");
  const std::string index_path = dir + "/" + kIndexName;
  nlohmann::json index = read_json(index_path);
  ASSERT_EQ(index["weight_map"]["model.embed_tokens.weight"], kShard1);
  index["weight_map"]["model.embed_tokens.weight"] = kShard2;
  test::write_bytes(index_path, index.dump());
  EXPECT_TRUE(opening_fails_mentioning(
      dir, {index_path, "model.embed_tokens.weight", kShard2, "does not contain"}));
}

TEST(Checkpoint, IndexThatIsNotJsonFails) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny");
  const std::string index_path = dir + "/" + kIndexName;
  test::write_bytes(index_path, R"({"weight_map": {"model.embed_tokens.weight": )");
  EXPECT_TRUE(opening_fails_mentioning(dir, {index_path, "not valid JSON"}));
}

TEST(Checkpoint, IndexWithoutWeightMapFails) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny");
  const std::string index_path = dir + "/" + kIndexName;
  test::write_bytes(index_path, R"({"metadata": {"total_size": 0}})");
  EXPECT_TRUE(opening_fails_mentioning(dir, {index_path, "weight_map"}));
}

TEST(Checkpoint, IndexMayNotPointOutsideTheFolder) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny");
  const std::string index_path = dir + "/" + kIndexName;
  nlohmann::json index = read_json(index_path);
  index["weight_map"]["model.embed_tokens.weight"] = "../" + kShard1;
  test::write_bytes(index_path, index.dump());
  EXPECT_TRUE(opening_fails_mentioning(dir, {index_path, "../" + kShard1, "plain file name"}));
}

TEST(Checkpoint, CorruptShardFailsNamingTheShard) {
  const std::string dir = test::writable_checkpoint_copy("v3-tiny");
  const std::string shard_path = dir + "/" + kShard2;
  fs::resize_file(shard_path, fs::file_size(shard_path) - 10);
  EXPECT_TRUE(opening_fails_mentioning(dir, {shard_path, "truncated"}));
}

TEST(Checkpoint, FolderWithoutModelFilesFails) {
  const std::string dir = test::make_temp_dir();
  fs::copy_file(golden_checkpoint("v2-tiny") + "/config.json", dir + "/config.json");
  EXPECT_TRUE(opening_fails_mentioning(dir, {dir, "no model.safetensors"}));
}

TEST(Checkpoint, PathThatIsNotAFolderFails) {
  const std::string file = golden_checkpoint("v2-tiny") + "/config.json";
  EXPECT_TRUE(opening_fails_mentioning(file, {file, "not a folder"}));
  const std::string missing = test::make_temp_dir() + "/does-not-exist";
  EXPECT_TRUE(opening_fails_mentioning(missing, {missing, "not a folder"}));
}

TEST(ReadTextFile, ReadsContentsAndNamesAMissingFile) {
  const std::string dir = test::make_temp_dir();
  test::write_bytes(dir + "/note.txt", "line one\nline two\n");
  EXPECT_EQ(read_text_file(dir + "/note.txt"), "line one\nline two\n");
  EXPECT_TRUE(test::throws_error_mentioning([&] { read_text_file(dir + "/absent.txt"); },
                                      {dir + "/absent.txt", "cannot open"}));
}

}  // namespace
}  // namespace frugal
