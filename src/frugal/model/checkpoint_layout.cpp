#include "frugal/model/checkpoint_layout.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/core/mapped_file.h"
#include "frugal/io/safetensors.h"

namespace frugal {

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<TensorSpec> checkpoint_tensors(const Config& c) {
  std::vector<TensorSpec> specs;
  const int64_t D = c.hidden_size, H = c.num_attention_heads;
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) {
    specs.push_back({name, {rows, cols}, TensorRole::Matrix});
  };
  auto norm = [&](const std::string& name, int64_t size) { specs.push_back({name, {size}, TensorRole::Norm}); };
  auto swiglu = [&](const std::string& prefix, int64_t width) {
    matrix(prefix + "gate_proj.weight", width, D);
    matrix(prefix + "up_proj.weight", width, D);
    matrix(prefix + "down_proj.weight", D, width);
  };
  auto layer = [&](int i, bool moe) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    norm(p + "input_layernorm.weight", D);
    norm(p + "post_attention_layernorm.weight", D);
    const std::string a = p + "self_attn.";
    if (c.q_lora_rank > 0) {
      matrix(a + "q_a_proj.weight", c.q_lora_rank, D);
      norm(a + "q_a_layernorm.weight", c.q_lora_rank);
      matrix(a + "q_b_proj.weight", H * c.qk_head_dim(), c.q_lora_rank);
    } else {
      matrix(a + "q_proj.weight", H * c.qk_head_dim(), D);
    }
    matrix(a + "kv_a_proj_with_mqa.weight", c.kv_lora_rank + c.qk_rope_head_dim, D);
    norm(a + "kv_a_layernorm.weight", c.kv_lora_rank);
    matrix(a + "kv_b_proj.weight", H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
    matrix(a + "o_proj.weight", D, H * c.v_head_dim);
    if (!moe) {
      swiglu(p + "mlp.", c.intermediate_size);
      return;
    }
    matrix(p + "mlp.gate.weight", c.n_routed_experts, D);
    if (c.topk_method == TopkMethod::NoauxTc)
      specs.push_back({p + "mlp.gate.e_score_correction_bias", {c.n_routed_experts}, TensorRole::CorrectionBias});
    for (int e = 0; e < c.n_routed_experts; ++e)
      swiglu(p + "mlp.experts." + std::to_string(e) + ".", c.moe_intermediate_size);
    if (c.n_shared_experts > 0)
      swiglu(p + "mlp.shared_experts.", static_cast<int64_t>(c.moe_intermediate_size) * c.n_shared_experts);
  };

  matrix("model.embed_tokens.weight", c.vocab_size, D);
  for (int i = 0; i < c.num_hidden_layers; ++i) layer(i, c.is_moe_layer(i));
  norm("model.norm.weight", D);
  matrix("lm_head.weight", c.vocab_size, D);
  for (int k = 1; k <= c.num_nextn_predict_layers; ++k) {
    const int i = c.num_hidden_layers + k - 1;
    const std::string p = "model.layers." + std::to_string(i) + ".";
    layer(i, c.n_routed_experts > 0);
    norm(p + "enorm.weight", D);
    norm(p + "hnorm.weight", D);
    matrix(p + "eh_proj.weight", D, 2 * D);
    norm(p + "shared_head.norm.weight", D);
    matrix(p + "embed_tokens.weight", c.vocab_size, D);
    matrix(p + "shared_head.head.weight", c.vocab_size, D);
  }
  return specs;
}

std::string shared_tensor_source(const std::string& name) {
  if (name.rfind("model.layers.", 0) != 0) return name;
  if (name.find(".shared_head.head.weight") != std::string::npos) return "lm_head.weight";
  if (name.find(".embed_tokens.weight") != std::string::npos) return "model.embed_tokens.weight";
  return name;
}

bool fp8_quantized_weight(const std::string& name) {
  for (const char* suffix : {".q_a_proj.weight", ".q_b_proj.weight", ".q_proj.weight", ".kv_a_proj_with_mqa.weight",
                             ".kv_b_proj.weight", ".o_proj.weight", ".gate_proj.weight", ".up_proj.weight",
                             ".down_proj.weight"}) {
    const std::string s = suffix;
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return true;
  }
  return false;
}

namespace {

// E4M3 codes of a [rows, cols] matrix and its block multipliers
// (max |w| / 448 per block, so the largest value takes the largest code).
void encode_fp8(const std::vector<float>& values, int64_t rows, int64_t cols, int block_rows, int block_cols,
                std::vector<uint8_t>& codes, std::vector<uint8_t>& scale_bytes) {
  const int64_t scale_rows = (rows + block_rows - 1) / block_rows, scale_cols = (cols + block_cols - 1) / block_cols;
  std::vector<float> scales(static_cast<std::size_t>(scale_rows * scale_cols), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float& amax = scales[(r / block_rows) * scale_cols + c / block_cols];
      amax = std::max(amax, std::fabs(values[r * cols + c]));
    }
  for (float& s : scales) s = s > 0.0f ? s / 448.0f : 1.0f;
  codes.resize(values.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      codes[r * cols + c] = f32_to_fp8_e4m3(values[r * cols + c] / scales[(r / block_rows) * scale_cols + c / block_cols]);
  scale_bytes.resize(scales.size() * sizeof(float));
  std::memcpy(scale_bytes.data(), scales.data(), scale_bytes.size());
}

std::vector<uint8_t> encode(const std::vector<float>& values, DType dtype) {
  std::vector<uint8_t> bytes(values.size() * dtype_size(dtype));
  if (dtype == DType::F32) {
    std::memcpy(bytes.data(), values.data(), bytes.size());
  } else {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const uint16_t b = f32_to_bf16(values[i]);
      std::memcpy(&bytes[2 * i], &b, 2);
    }
  }
  return bytes;
}

}  // namespace

void write_checkpoint(const nlohmann::json& config_json, const std::string& out_dir,
                      const CheckpointWriteOptions& options,
                      const std::function<std::vector<float>(const TensorSpec&)>& values_of) {
  namespace fs = std::filesystem;
  using json = nlohmann::json;
  if (options.dtype != DType::BF16 && options.dtype != DType::F32 && options.dtype != DType::F8_E4M3)
    fail("checkpoints are written as BF16, F32 or F8_E4M3, not ", dtype_name(options.dtype));
  const Config config = parse_config(config_json.dump(), out_dir + "/config.json");
  const bool fp8 = options.dtype == DType::F8_E4M3;
  if (fp8 && config.weight_block_rows <= 0)
    fail(out_dir, "/config.json: FP8 weights need quantization_config.weight_block_size");
  fs::create_directories(out_dir);

  const std::vector<TensorSpec> specs = checkpoint_tensors(config);
  auto dtype_of = [&](const TensorSpec& s) {
    if (s.role == TensorRole::CorrectionBias) return DType::F32;
    if (fp8) return fp8_quantized_weight(s.name) ? DType::F8_E4M3 : DType::BF16;
    return options.dtype;
  };
  auto scale_count = [&](const TensorSpec& s) -> int64_t {  // FP8 block multipliers beside the weight
    if (dtype_of(s) != DType::F8_E4M3) return 0;
    return ((s.shape[0] + config.weight_block_rows - 1) / config.weight_block_rows) *
           ((s.shape[1] + config.weight_block_cols - 1) / config.weight_block_cols);
  };
  std::vector<std::vector<std::size_t>> shards(1);
  uint64_t shard_size = 0, total = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const uint64_t bytes = static_cast<uint64_t>(specs[i].numel()) * dtype_size(dtype_of(specs[i])) +
                           static_cast<uint64_t>(scale_count(specs[i])) * sizeof(float);
    if (shard_size > 0 && shard_size + bytes > options.shard_bytes) {
      shards.emplace_back();
      shard_size = 0;
    }
    shards.back().push_back(i);
    shard_size += bytes;
    total += bytes;
  }

  json weight_map = json::object();
  uint64_t written = 0;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    const std::string file = shards.size() == 1 ? "model.safetensors" : name;
    std::vector<std::vector<uint8_t>> values;
    std::vector<TensorToWrite> tensors;
    for (std::size_t i : shards[s]) {
      const TensorSpec& spec = specs[i];
      std::vector<float> v = values_of(spec);
      if (static_cast<int64_t>(v.size()) != spec.numel())
        fail("internal: ", spec.name, " has ", v.size(), " values, expected ", spec.numel());
      if (dtype_of(spec) == DType::F8_E4M3) {
        std::vector<uint8_t> codes, scale_bytes;
        encode_fp8(v, spec.shape[0], spec.shape[1], config.weight_block_rows, config.weight_block_cols, codes,
                   scale_bytes);
        values.push_back(std::move(codes));
        tensors.push_back({spec.name, DType::F8_E4M3, spec.shape, values.back().data()});
        values.push_back(std::move(scale_bytes));
        const std::string scale_name = spec.name + "_scale_inv";
        tensors.push_back({scale_name, DType::F32,
                           {(spec.shape[0] + config.weight_block_rows - 1) / config.weight_block_rows,
                            (spec.shape[1] + config.weight_block_cols - 1) / config.weight_block_cols},
                           values.back().data()});
        weight_map[scale_name] = file;
        written += values[values.size() - 2].size() + values.back().size();
      } else {
        values.push_back(encode(v, dtype_of(spec)));
        tensors.push_back({spec.name, dtype_of(spec), spec.shape, values.back().data()});
        written += values.back().size();
      }
      weight_map[spec.name] = file;
    }
    write_safetensors((fs::path(out_dir) / file).string(), tensors, {{"format", "pt"}});
    if (options.show_progress)
      std::fprintf(stderr, "\rwrote %s (%.1f of %.1f GB)", file.c_str(), written / 1e9, total / 1e9);
  }
  if (options.show_progress) std::fputc('\n', stderr);
  const std::string index_path = (fs::path(out_dir) / "model.safetensors.index.json").string();
  if (shards.size() > 1) {
    const json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_file_atomically(index_path, index.dump(2));
  } else {
    fs::remove(index_path);  // a stale index from an earlier, sharded write would shadow model.safetensors
  }
  write_file_atomically((fs::path(out_dir) / "config.json").string(), config_json.dump(2) + "\n");
}

}  // namespace frugal
