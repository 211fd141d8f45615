#include "frugal/train/parameter_tensors.h"

namespace frugal {

ParameterTensors::ParameterTensors(const ParameterStore& store) {
  for (const Parameter& p : store.all()) {
    TensorView view;
    view.name = p.name;
    view.dtype = DType::F32;
    view.shape = p.shape;
    view.data = reinterpret_cast<const uint8_t*>(p.value.data());
    view.byte_size = p.value.size() * sizeof(float);
    view.file = origin_;
    views_.emplace(p.name, std::move(view));
  }
}

const TensorView* ParameterTensors::find(const std::string& name) const {
  const auto it = views_.find(name);
  return it == views_.end() ? nullptr : &it->second;
}

}  // namespace frugal
