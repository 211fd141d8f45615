#include "frugal/io/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"

namespace frugal {
namespace fs = std::filesystem;

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(path, ": read error");
  return text.str();
}

Checkpoint::Checkpoint(const std::string& dir) : dir_(dir) {
  if (!fs::is_directory(dir)) fail(dir, ": not a folder (expected a Hugging Face checkpoint folder)");
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single_path = fs::path(dir) / "model.safetensors";

  if (fs::exists(index_path)) {
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(read_text_file(index_path.string()));
    } catch (const nlohmann::json::exception& e) {
      fail(index_path.string(), ": not valid JSON: ", e.what());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      fail(index_path.string(), ": has no \"weight_map\" object");
    std::map<std::string, SafetensorsFile*> shards;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
      if (!shard.is_string())
        fail(index_path.string(), ": weight_map entry '", tensor, "' is not a file name");
      const std::string shard_name = shard.get<std::string>();
      if (shard_name.find('/') != std::string::npos || shard_name == ".." || shard_name.empty())
        fail(index_path.string(), ": shard name '", shard_name, "' must be a plain file name");
      auto it = shards.find(shard_name);
      if (it == shards.end()) {
        const fs::path shard_path = fs::path(dir) / shard_name;
        if (!fs::exists(shard_path))
          fail(index_path.string(), ": shard '", shard_name, "' (holding '", tensor,
               "') does not exist in ", dir);
        files_.push_back(std::make_unique<SafetensorsFile>(shard_path.string()));
        it = shards.emplace(shard_name, files_.back().get()).first;
      }
      const TensorView* view = it->second->find(tensor);
      if (view == nullptr)
        fail(index_path.string(), ": tensor '", tensor, "' is mapped to shard '", shard_name,
             "', which does not contain it");
      index_[tensor] = view;
    }
  } else if (fs::exists(single_path)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single_path.string()));
    for (const auto& [name, view] : files_.back()->tensors()) index_[name] = &view;
  } else {
    fail(dir, ": no model.safetensors or model.safetensors.index.json");
  }
}

const TensorView* Checkpoint::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

const TensorView& TensorSource::get(const std::string& name) const {
  const TensorView* view = find(name);
  if (view == nullptr) fail(origin(), ": checkpoint has no tensor '", name, "'");
  return *view;
}

std::size_t Checkpoint::prefault() const {
  std::size_t bytes = 0;
  for (const auto& file : files_) bytes += file->prefault();
  return bytes;
}

std::vector<const TensorView*> Checkpoint::all_tensors() const {
  std::vector<const TensorView*> out;
  out.reserve(index_.size());
  for (const auto& [name, view] : index_) out.push_back(view);
  return out;
}

}  // namespace frugal
