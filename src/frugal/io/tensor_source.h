#pragma once
// Named tensors to build a model from: a checkpoint folder on disk, or the
// float32 parameters of a model being trained (whose rollouts run through the
// inference engine on the live weights, without a copy).
#include <string>

#include "frugal/io/safetensors.h"

namespace frugal {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual const TensorView* find(const std::string& name) const = 0;
  // Names the source in errors: a folder, or "training parameters".
  virtual const std::string& origin() const = 0;

  const TensorView& get(const std::string& name) const;  // fails naming the source and tensor
  bool contains(const std::string& name) const { return find(name) != nullptr; }
};

}  // namespace frugal
