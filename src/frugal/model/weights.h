#pragma once
// Every tensor of a DeepSeek checkpoint, bound to the structures the forward
// pass reads (spec section 2.3). Linear weights stay in the checkpoint's
// mapping in their stored dtype; norms and biases are decoded to float32.
#include <optional>
#include <vector>

#include "frugal/io/checkpoint.h"
#include "frugal/model/config.h"
#include "frugal/model/mla.h"
#include "frugal/model/moe.h"
#include "frugal/model/swiglu.h"

namespace frugal {

struct DecoderLayerWeights {
  std::vector<float> input_norm;           // [D]
  std::vector<float> post_attention_norm;  // [D]
  MlaWeights attention;
  std::optional<SwiGluWeights> dense_mlp;  // layers < first_k_dense_replace
  std::optional<MoeWeights> moe;           // the other layers
};

// Multi-token prediction module k (stored as layer num_hidden_layers + k - 1).
struct MtpWeights {
  std::vector<float> embedding_norm;    // enorm [D]
  std::vector<float> hidden_norm;       // hnorm [D]
  WeightMatrix eh_proj;                 // [D, 2D]: columns 0..D-1 act on the embedding
  DecoderLayerWeights layer;
  std::vector<float> head_norm;         // shared_head.norm [D]
  // shared_head.head and embed_tokens are the main model's (shared in V3).
};

struct ModelWeights {
  WeightMatrix embed_tokens;  // [V, D]
  std::vector<DecoderLayerWeights> layers;
  std::vector<float> final_norm;  // [D]
  WeightMatrix lm_head;           // [V, D]
  std::vector<MtpWeights> mtp;
};

// Binds and validates every tensor (shape, dtype, FP8 scales); errors name
// the checkpoint folder and the tensor.
ModelWeights load_weights(const TensorSource& tensors, const Config& config);

// How linear weights are held in memory: as stored in the checkpoint
// (mapped); as BF16 (converted from FP8 or F32, BF16 kept mapped); the FP8
// originals kept mapped (the checkpoint must have them); converted at load to
// 8-bit blocks (q8.h); or to 4-bit blocks for the experts and 8-bit for the
// rest (q4.h).
enum class WeightFormat { Stored, Bf16, Fp8, Q8, Q4 };
// "auto"/"stored", "bf16", "fp8", "q8", "q4"
WeightFormat parse_weight_format(const std::string& name);
std::vector<std::string> weight_format_names();              // what parse_weight_format accepts
std::string to_string(WeightFormat format);

// Packs every float32 linear weight into panels (kernels/panel_product.h)
// for decode; other dtypes are left as they are.
void pack_for_decode(ModelWeights& weights);

// Converts every linear weight except the router (its decisions are precision
// sensitive) and the embedding table (one row read per token).
void convert_weights(ModelWeights& weights, const Config& config, WeightFormat format);

}  // namespace frugal
