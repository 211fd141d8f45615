#pragma once
// Random-initialised checkpoints in the Hugging Face layout: config.json and
// safetensors shards (with model.safetensors.index.json when there is more
// than one), loadable by every frugal command. Used to start training and to
// benchmark real model shapes without downloading weights.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "frugal/core/dtype.h"
#include "frugal/model/config.h"

namespace frugal {

// config.json text of a known shape: "v2-lite", "v2", "v3", "tiny" (the
// goldens' v3-tiny shape). Fails naming the preset otherwise.
nlohmann::json preset_config(const std::string& preset);

struct InitOptions {
  uint64_t seed = 0;
  DType dtype = DType::BF16;  // BF16 or F32
  double init_std = 0.006;    // DeepSeek-V3's initial standard deviation
  uint64_t shard_bytes = 4ull << 30;
};

// Writes config.json (the given object, validated first) and random weights:
// linear weights and embeddings ~ N(0, init_std^2), norms 1, correction
// biases 0. A tensor's values depend only on the seed and its name. Every
// file is written atomically; progress goes to stderr for large models.
void write_random_checkpoint(const nlohmann::json& config_json, const std::string& out_dir,
                             const InitOptions& options);

}  // namespace frugal
