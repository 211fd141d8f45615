#include "frugal/train/parameters.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/io/checkpoint.h"

namespace frugal {
namespace {

// Decodes a stored tensor into float32, applying FP8 block scales (spec 2.2).
std::vector<float> decode_tensor(const Checkpoint& checkpoint, const Config& config, const TensorView& view) {
  std::vector<float> values = view.to_f32();
  if (view.dtype != DType::F8_E4M3) return values;
  if (config.weight_block_rows == 0 || view.shape.size() != 2)
    fail(checkpoint.dir(), ": tensor '", view.name,
         "' is F8_E4M3 but config.json has no quantization_config.weight_block_size");
  const int64_t rows = view.dim(0), cols = view.dim(1);
  const int64_t br = config.weight_block_rows, bc = config.weight_block_cols;
  const int64_t scale_cols = (cols + bc - 1) / bc;
  const TensorView& scales_view = checkpoint.get(view.name + "_scale_inv");
  if (scales_view.shape != std::vector<int64_t>{(rows + br - 1) / br, scale_cols})
    fail(checkpoint.dir(), ": tensor '", scales_view.name, "' has shape ", scales_view.shape_string(),
         ", expected [", (rows + br - 1) / br, ", ", scale_cols, "]");
  const std::vector<float> scales = scales_view.to_f32();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) values[r * cols + c] *= scales[(r / br) * scale_cols + c / bc];
  return values;
}

}  // namespace

ParameterStore ParameterStore::load(const std::string& checkpoint_dir) {
  ParameterStore store;
  const std::string config_path = checkpoint_dir + "/config.json";
  const std::string text = read_text_file(config_path);
  store.config_ = parse_config(text, config_path);
  store.config_json_ = nlohmann::json::parse(text);
  const Checkpoint checkpoint(checkpoint_dir);
  for (const TensorSpec& spec : checkpoint_tensors(store.config_)) {
    if (shared_tensor_source(spec.name) != spec.name) continue;  // the MTP's copies of shared tensors
    const TensorView* view = checkpoint.find(spec.name);
    if (view == nullptr) {
      // Checkpoints without the correction bias route as if it were zero.
      if (spec.role != TensorRole::CorrectionBias)
        fail(checkpoint_dir, ": tensor '", spec.name, "' is missing");
    } else if (view->shape != spec.shape) {
      fail(checkpoint_dir, ": tensor '", spec.name, "' has shape ", view->shape_string(), ", expected ",
           shape_string(spec.shape));
    }
    Parameter p;
    p.name = spec.name;
    p.shape = spec.shape;
    p.role = spec.role;
    p.value = view ? decode_tensor(checkpoint, store.config_, *view)
                   : std::vector<float>(static_cast<std::size_t>(spec.numel()), 0.0f);
    if (p.trainable()) p.grad.assign(p.value.size(), 0.0f);
    store.index_[p.name] = store.params_.size();
    store.params_.push_back(std::move(p));
  }
  return store;
}

Parameter* ParameterStore::find(const std::string& name) {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}

Parameter& ParameterStore::get(const std::string& name) {
  Parameter* p = find(name);
  if (p == nullptr) fail("internal: no parameter named '", name, "'");
  return *p;
}

const Parameter& ParameterStore::get(const std::string& name) const {
  return const_cast<ParameterStore*>(this)->get(name);
}

void ParameterStore::zero_grad() {
  for (Parameter& p : params_) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
}

int64_t ParameterStore::trainable_count() const {
  int64_t n = 0;
  for (const Parameter& p : params_)
    if (p.trainable()) n += p.numel();
  return n;
}

void ParameterStore::save(const std::string& out_dir, DType dtype) const {
  nlohmann::json config_json = config_json_;
  config_json.erase("quantization_config");  // values are written decoded
  config_json["torch_dtype"] = dtype == DType::F32 ? "float32" : "bfloat16";
  CheckpointWriteOptions options;
  options.dtype = dtype;
  write_checkpoint(config_json, out_dir, options,
                   [&](const TensorSpec& spec) { return get(shared_tensor_source(spec.name)).value; });
}

}  // namespace frugal
