#pragma once
// The trainable state of a model: every checkpoint tensor as float32 values
// with a gradient beside it, named as in the checkpoint. The MTP module's
// copies of the embedding and output head are not separate parameters: they
// are the main model's (shared, as in the V3 report), and are written back as
// copies when the store is saved.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/core/dtype.h"
#include "frugal/model/checkpoint_layout.h"
#include "frugal/model/config.h"

namespace frugal {

struct Parameter {
  std::string name;
  std::vector<int64_t> shape;
  TensorRole role = TensorRole::Matrix;
  std::vector<float> value;
  std::vector<float> grad;  // same size as value; empty when not trainable
  bool trainable() const { return role != TensorRole::CorrectionBias; }
  int64_t numel() const { return static_cast<int64_t>(value.size()); }
};

class ParameterStore {
 public:
  // Reads every tensor of the checkpoint folder (BF16, F16, F32 or FP8 with
  // block scales) into float32; errors name the folder and tensor.
  static ParameterStore load(const std::string& checkpoint_dir);

  const Config& config() const { return config_; }
  const nlohmann::json& config_json() const { return config_json_; }

  Parameter& get(const std::string& name);
  const Parameter& get(const std::string& name) const;
  Parameter* find(const std::string& name);
  std::vector<Parameter>& all() { return params_; }
  const std::vector<Parameter>& all() const { return params_; }

  void zero_grad();
  int64_t trainable_count() const;  // number of trainable values

  // Writes a checkpoint every frugal command loads (config.json kept).
  void save(const std::string& out_dir, DType dtype) const;

 private:
  Config config_;
  nlohmann::json config_json_;
  std::vector<Parameter> params_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace frugal
