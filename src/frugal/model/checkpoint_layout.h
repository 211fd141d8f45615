#pragma once
// The tensors of a DeepSeek checkpoint in the Hugging Face layout (spec
// section 2.3), as a list derived from the config, and the writer that lays
// float32 values out as sharded safetensors with their index and config.json.
// `frugal init` and the trainer's checkpoints share both.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "frugal/core/dtype.h"
#include "frugal/model/config.h"

namespace frugal {

enum class TensorRole {
  Matrix,         // linear weights and embeddings
  Norm,           // RMSNorm weights
  CorrectionBias  // e_score_correction_bias: steers routing, never trained by gradient
};

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  TensorRole role = TensorRole::Matrix;
  int64_t numel() const;
};

// Every tensor of the config's checkpoint in file order: embedding, layers,
// final norm, head, then the MTP modules (with their copies of the embedding
// and head, as in the released V3 layout).
std::vector<TensorSpec> checkpoint_tensors(const Config& config);

// The MTP module's embed_tokens / shared_head.head repeat the main model's
// tensors: returns the main tensor's name for those, else `name` itself.
std::string shared_tensor_source(const std::string& name);

// Whether DeepSeek's FP8 checkpoints store this tensor as F8_E4M3 (spec 2.2):
// the attention projections and the gate/up/down of every MLP and expert.
bool fp8_quantized_weight(const std::string& name);

struct CheckpointWriteOptions {
  // Of matrices and norms: BF16 or F32 (biases stay F32), or F8_E4M3: the
  // linear weights DeepSeek's FP8 release quantises (fp8_quantized_weight)
  // as E4M3 with float32 block scales (`_scale_inv`, block size from the
  // config's quantization_config), everything else BF16.
  DType dtype = DType::BF16;
  uint64_t shard_bytes = 4ull << 30;  // a larger tensor gets a shard of its own
  bool show_progress = false;         // a progress line on stderr per shard
};

// Writes config.json (validated first) and every tensor of checkpoint_tensors,
// taking each tensor's float32 values from `values_of`. Every file is written
// atomically (temporary file + rename).
void write_checkpoint(const nlohmann::json& config_json, const std::string& out_dir,
                      const CheckpointWriteOptions& options,
                      const std::function<std::vector<float>(const TensorSpec&)>& values_of);

}  // namespace frugal
