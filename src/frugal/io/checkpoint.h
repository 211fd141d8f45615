#pragma once
// A Hugging Face checkpoint folder: config.json plus either one
// model.safetensors or shards listed in model.safetensors.index.json.
// Tensors are looked up by name across shards without copying.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frugal/io/safetensors.h"
#include "frugal/io/tensor_source.h"

namespace frugal {

class Checkpoint : public TensorSource {
 public:
  explicit Checkpoint(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const TensorView* find(const std::string& name) const override;
  const std::string& origin() const override { return dir_; }
  // Every tensor, in name order.
  std::vector<const TensorView*> all_tensors() const;
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // Maps every page of every shard now (see MappedFile::prefault).
  std::size_t prefault() const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> index_;
};

// Reads a whole (small) text file; fails naming the path.
std::string read_text_file(const std::string& path);

}  // namespace frugal
