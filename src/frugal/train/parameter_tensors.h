#pragma once
// The ParameterStore seen as named float32 tensors, so that the inference
// engine (frugal::Model, with its latent KV cache) runs on the weights being
// trained, in place: GRPO samples its rollouts this way.
#include <map>
#include <string>

#include "frugal/io/tensor_source.h"
#include "frugal/train/parameters.h"

namespace frugal {

class ParameterTensors : public TensorSource {
 public:
  // Views every parameter; `store` must outlive this object and keep its
  // tensors' sizes (values may change).
  explicit ParameterTensors(const ParameterStore& store);
  const TensorView* find(const std::string& name) const override;
  const std::string& origin() const override { return origin_; }

 private:
  std::map<std::string, TensorView> views_;
  std::string origin_ = "training parameters";
};

}  // namespace frugal
