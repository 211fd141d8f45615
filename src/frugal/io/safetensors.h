#pragma once
// safetensors files: an 8-byte little-endian header length, a JSON header,
// then raw little-endian row-major tensor data. The reader maps the file and
// hands out zero-copy views after validating every header entry; the writer
// produces the same format atomically.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frugal/core/dtype.h"
#include "frugal/core/mapped_file.h"

namespace frugal {

// The largest JSON header accepted (the reference implementation's limit).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // inside the mapping; no alignment promised
  uint64_t byte_size = 0;
  std::string file;               // the file it lives in, for error messages

  int64_t numel() const;
  int64_t dim(std::size_t i) const { return shape.at(i); }
  std::string shape_string() const;
  // Decodes all elements (a floating dtype) into float32.
  std::vector<float> to_f32() const;
};

// "[2, 3]"
std::string shape_string(const std::vector<int64_t>& shape);

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return mapping_->path(); }
  const TensorView* find(const std::string& name) const;
  const TensorView& get(const std::string& name) const;  // throws naming file and tensor
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::size_t prefault() const { return mapping_->prefault(); }

 private:
  std::shared_ptr<MappedFile> mapping_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // numel * dtype_size bytes
};

// Writes tensors in the given order (names must be unique) with an optional
// __metadata__ map; temp file + rename, so readers never see half a file.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace frugal
