#include "frugal/model/weights.h"

#include <string>

#include "frugal/core/error.h"
#include "frugal/core/mapped_file.h"
#include "frugal/core/progress.h"
#include "frugal/core/thread_pool.h"
#include "frugal/core/weight_arena.h"
#include "frugal/kernels/panel_product.h"
#include "frugal/kernels/q4.h"
#include "frugal/kernels/q8.h"
#include "frugal/kernels/q8_interleaved.h"

namespace frugal {
namespace {

class Binder {
 public:
  Binder(const TensorSource& checkpoint, const Config& config)
      : checkpoint_(checkpoint), config_(config) {}

  const TensorView& tensor(const std::string& name, std::initializer_list<int64_t> shape) const {
    const TensorView& view = checkpoint_.get(name);
    const std::vector<int64_t> expected(shape);
    if (view.shape != expected)
      fail(checkpoint_.origin(), ": tensor '", name, "' has shape ", view.shape_string(),
           ", config.json implies ", shape_string(expected));
    if (!dtype_is_float(view.dtype))
      fail(checkpoint_.origin(), ": tensor '", name, "' has dtype ", dtype_name(view.dtype),
           ", expected a floating-point type");
    return view;
  }

  std::vector<float> vector(const std::string& name, int64_t size) const {
    return tensor(name, {size}).to_f32();
  }

  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const TensorView& view = tensor(name, {rows, cols});
    WeightMatrix w;
    w.name = name;
    w.dtype = view.dtype;
    w.rows = rows;
    w.cols = cols;
    w.data = view.data;
    if (view.dtype == DType::F8_E4M3) bind_scales(w);
    return w;
  }

 private:
  void bind_scales(WeightMatrix& w) const {
    const std::string scale_name = w.name + "_scale_inv";
    if (config_.weight_block_rows == 0)
      fail(checkpoint_.origin(), ": tensor '", w.name,
           "' is F8_E4M3 but config.json has no quantization_config.weight_block_size");
    const int64_t br = config_.weight_block_rows, bc = config_.weight_block_cols;
    const int64_t scale_rows = (w.rows + br - 1) / br, scale_cols = (w.cols + bc - 1) / bc;
    const TensorView& scales = tensor(scale_name, {scale_rows, scale_cols});
    w.scales = std::make_shared<const std::vector<float>>(scales.to_f32());
    w.block_rows = static_cast<int>(br);
    w.block_cols = static_cast<int>(bc);
    w.scale_cols = scale_cols;
  }

  const TensorSource& checkpoint_;
  const Config& config_;
};

SwiGluWeights bind_swiglu(const Binder& b, const std::string& prefix, int64_t width,
                          int64_t hidden) {
  return {b.matrix(prefix + "gate_proj.weight", width, hidden),
          b.matrix(prefix + "up_proj.weight", width, hidden),
          b.matrix(prefix + "down_proj.weight", hidden, width)};
}

MlaWeights bind_attention(const Binder& b, const Config& c, const std::string& prefix) {
  const int64_t D = c.hidden_size, H = c.num_attention_heads;
  MlaWeights w;
  if (c.q_lora_rank > 0) {
    w.q_a_proj = b.matrix(prefix + "q_a_proj.weight", c.q_lora_rank, D);
    w.q_a_norm = b.vector(prefix + "q_a_layernorm.weight", c.q_lora_rank);
    w.q_b_proj = b.matrix(prefix + "q_b_proj.weight", H * c.qk_head_dim(), c.q_lora_rank);
  } else {
    w.q_proj = b.matrix(prefix + "q_proj.weight", H * c.qk_head_dim(), D);
  }
  w.kv_a_proj = b.matrix(prefix + "kv_a_proj_with_mqa.weight", c.kv_lora_rank + c.qk_rope_head_dim, D);
  w.kv_a_norm = b.vector(prefix + "kv_a_layernorm.weight", c.kv_lora_rank);
  w.kv_b_proj = b.matrix(prefix + "kv_b_proj.weight", H * (c.qk_nope_head_dim + c.v_head_dim),
                         c.kv_lora_rank);
  w.o_proj = b.matrix(prefix + "o_proj.weight", D, H * c.v_head_dim);
  derive_absorbed_weights(c, w);
  return w;
}

DecoderLayerWeights bind_layer(const Binder& b, const Config& c, int index, bool moe) {
  const std::string prefix = "model.layers." + std::to_string(index) + ".";
  const int64_t D = c.hidden_size;
  DecoderLayerWeights layer;
  layer.input_norm = b.vector(prefix + "input_layernorm.weight", D);
  layer.post_attention_norm = b.vector(prefix + "post_attention_layernorm.weight", D);
  layer.attention = bind_attention(b, c, prefix + "self_attn.");
  if (!moe) {
    layer.dense_mlp = bind_swiglu(b, prefix + "mlp.", c.intermediate_size, D);
    return layer;
  }
  MoeWeights m;
  m.router = b.matrix(prefix + "mlp.gate.weight", c.n_routed_experts, D);
  if (c.topk_method == TopkMethod::NoauxTc)
    m.correction_bias = b.vector(prefix + "mlp.gate.e_score_correction_bias", c.n_routed_experts);
  for (int e = 0; e < c.n_routed_experts; ++e)
    m.experts.push_back(bind_swiglu(b, prefix + "mlp.experts." + std::to_string(e) + ".",
                                    c.moe_intermediate_size, D));
  if (c.n_shared_experts > 0)
    m.shared = bind_swiglu(b, prefix + "mlp.shared_experts.",
                           static_cast<int64_t>(c.moe_intermediate_size) * c.n_shared_experts, D);
  layer.moe = std::move(m);
  return layer;
}

}  // namespace

ModelWeights load_weights(const TensorSource& checkpoint, const Config& c) {
  const Binder b(checkpoint, c);
  const int64_t D = c.hidden_size, V = c.vocab_size;
  ModelWeights w;
  w.embed_tokens = b.matrix("model.embed_tokens.weight", V, D);
  for (int i = 0; i < c.num_hidden_layers; ++i) w.layers.push_back(bind_layer(b, c, i, c.is_moe_layer(i)));
  w.final_norm = b.vector("model.norm.weight", D);
  if (c.tie_word_embeddings && !checkpoint.contains("lm_head.weight")) {
    w.lm_head = w.embed_tokens;
  } else {
    w.lm_head = b.matrix("lm_head.weight", V, D);
  }
  for (int k = 1; k <= c.num_nextn_predict_layers; ++k) {
    const int index = c.num_hidden_layers + k - 1;
    const std::string prefix = "model.layers." + std::to_string(index) + ".";
    MtpWeights m;
    m.embedding_norm = b.vector(prefix + "enorm.weight", D);
    m.hidden_norm = b.vector(prefix + "hnorm.weight", D);
    m.eh_proj = b.matrix(prefix + "eh_proj.weight", D, 2 * D);
    // MTP modules always carry an MoE layer in V3; follow the layer rule otherwise.
    m.layer = bind_layer(b, c, index, c.n_routed_experts > 0);
    m.head_norm = b.vector(prefix + "shared_head.norm.weight", D);
    w.mtp.push_back(std::move(m));
  }
  return w;
}

WeightFormat parse_weight_format(const std::string& name) {
  if (name == "auto" || name == "stored") return WeightFormat::Stored;
  if (name == "bf16") return WeightFormat::Bf16;
  if (name == "fp8") return WeightFormat::Fp8;
  if (name == "q8") return WeightFormat::Q8;
  if (name == "q4") return WeightFormat::Q4;
  fail("weight format \"", name, "\" is not one of auto, stored, bf16, fp8, q8, q4");
}

std::vector<std::string> weight_format_names() { return {"auto", "stored", "bf16", "fp8", "q8", "q4"}; }

std::string to_string(WeightFormat format) {
  switch (format) {
    case WeightFormat::Bf16: return "bf16";
    case WeightFormat::Fp8: return "fp8";
    case WeightFormat::Q8: return "q8";
    case WeightFormat::Q4: return "q4";
    default: return "stored";
  }
}

namespace {
// The matrix as BF16 rows (FP8 and F32 rounded to nearest even).
WeightMatrix to_bf16(const WeightMatrix& w) {
  const std::size_t count = static_cast<std::size_t>(w.rows * w.cols);
  const std::shared_ptr<uint8_t[]> bytes = allocate_weight_bytes(count * sizeof(uint16_t));
  uint16_t* values = reinterpret_cast<uint16_t*>(bytes.get());
  ThreadPool::global().parallel_for(static_cast<std::size_t>(w.rows), [&](std::size_t begin, std::size_t end) {
    std::vector<float> row(static_cast<std::size_t>(w.cols));
    for (std::size_t r = begin; r < end; ++r) {
      w.decode_row(static_cast<int64_t>(r), row.data());
      for (int64_t c = 0; c < w.cols; ++c) values[r * w.cols + c] = f32_to_bf16(row[c]);
    }
  });
  return owned_matrix(w.name, DType::BF16, w.rows, w.cols, std::shared_ptr<const void>(bytes, bytes.get()),
                      bytes.get());
}

// `interleave`: Q8 rows may be interleaved by 16 (faster products), unless
// the matrix is sliced elsewhere than at multiples of 16.
void convert(WeightMatrix& w, WeightFormat format, bool interleave = true) {
  if (w.empty()) return;
  WeightMatrix converted;
  if (format == WeightFormat::Bf16 && w.dtype != DType::BF16) {
    converted = to_bf16(w);
  } else if (format == WeightFormat::Q8 && q8_applicable(w)) {
    converted = to_q8(w, interleave);
  } else if (format == WeightFormat::Q4 && q4_applicable(w)) {
    converted = to_q4(w);
  } else {
    return;
  }
  // The stored rows are no longer read: keep peak memory near the converted size.
  if (!w.storage) release_mapped_pages(w.data, static_cast<std::size_t>(w.rows) * w.row_bytes());
  w = std::move(converted);
}

void convert_swiglu(SwiGluWeights& m, WeightFormat format) {
  convert(m.gate, format);
  convert(m.up, format);
  convert(m.down, format);
}

// Q4 puts the experts (routed and shared) at 4 bits and keeps attention,
// dense MLPs and the output head at 8, as llama.cpp's Q4_K_M keeps sensitive
// tensors at 6 bits. On the bundled trained model, mean KL against float32:
// 4-bit experts 1.3e-2, everything at 4 bits 1e-1 (the output head alone at
// 4 bits adds 2e-2). Experts hold most of a DeepSeek model's bytes.
WeightFormat non_expert_format(WeightFormat format) { return format == WeightFormat::Q4 ? WeightFormat::Q8 : format; }

void convert_layer(DecoderLayerWeights& layer, const Config& config, WeightFormat format) {
  const WeightFormat non_expert = non_expert_format(format);
  MlaWeights& a = layer.attention;
  for (WeightMatrix* w : {&a.q_proj, &a.q_a_proj, &a.q_b_proj, &a.kv_a_proj, &a.o_proj}) convert(*w, non_expert);
  // kv_b_proj is cut into per-head W_uk and W_uv views (derive_absorbed_weights);
  // a Q8 W_uk^T is quantised from the stored rows, before they are released.
  std::vector<WeightMatrix> uk_transposed;
  if (non_expert == WeightFormat::Q8 && q8_applicable(a.kv_b_proj))
    uk_transposed = transposed_w_uk_q8(config, a.kv_b_proj);
  convert(a.kv_b_proj, non_expert,
          config.qk_nope_head_dim % kQ8InterleavedRows == 0 && config.v_head_dim % kQ8InterleavedRows == 0);
  derive_absorbed_weights(config, a, std::move(uk_transposed));  // the per-head views follow kv_b_proj
  if (layer.dense_mlp) convert_swiglu(*layer.dense_mlp, non_expert);
  if (layer.moe) {
    for (SwiGluWeights& e : layer.moe->experts) convert_swiglu(e, format);
    if (layer.moe->shared) convert_swiglu(*layer.moe->shared, format);
  }
}

std::size_t matrix_bytes(const WeightMatrix& w) { return static_cast<std::size_t>(w.rows) * w.row_bytes(); }

// Bytes of a layer's matrices as they are before conversion (the progress
// bar's measure).
std::size_t layer_bytes(const DecoderLayerWeights& layer) {
  const MlaWeights& a = layer.attention;
  std::size_t bytes = 0;
  for (const WeightMatrix* w : {&a.q_proj, &a.q_a_proj, &a.q_b_proj, &a.kv_a_proj, &a.kv_b_proj, &a.o_proj})
    bytes += matrix_bytes(*w);
  auto add_mlp = [&](const SwiGluWeights& m) { bytes += matrix_bytes(m.gate) + matrix_bytes(m.up) + matrix_bytes(m.down); };
  if (layer.dense_mlp) add_mlp(*layer.dense_mlp);
  if (layer.moe) {
    for (const SwiGluWeights& e : layer.moe->experts) add_mlp(e);
    if (layer.moe->shared) add_mlp(*layer.moe->shared);
  }
  return bytes;
}

void pack_layer(DecoderLayerWeights& layer) {
  MlaWeights& a = layer.attention;
  for (WeightMatrix* w : {&a.q_proj, &a.q_a_proj, &a.q_b_proj, &a.kv_a_proj, &a.kv_b_proj, &a.o_proj}) attach_panels(*w);
  std::vector<SwiGluWeights*> mlps;
  if (layer.dense_mlp) mlps.push_back(&*layer.dense_mlp);
  if (layer.moe) {
    attach_panels(layer.moe->router);
    for (SwiGluWeights& e : layer.moe->experts) mlps.push_back(&e);
    if (layer.moe->shared) mlps.push_back(&*layer.moe->shared);
  }
  for (SwiGluWeights* m : mlps)
    for (WeightMatrix* w : {&m->gate, &m->up, &m->down}) attach_panels(*w);
}

}  // namespace

void pack_for_decode(ModelWeights& weights) {
  for (DecoderLayerWeights& layer : weights.layers) pack_layer(layer);
  for (MtpWeights& m : weights.mtp) {
    attach_panels(m.eh_proj);
    pack_layer(m.layer);
  }
  attach_panels(weights.lm_head);
}

void convert_weights(ModelWeights& weights, const Config& config, WeightFormat format) {
  if (format == WeightFormat::Fp8 && config.weight_block_rows <= 0)
    fail("--weights fp8 keeps a checkpoint's FP8 weights, and this one has none (no quantization_config): "
         "use bf16, q8 or q4");
  if (format == WeightFormat::Stored || format == WeightFormat::Fp8) return;
  std::size_t total = matrix_bytes(weights.lm_head);
  for (const DecoderLayerWeights& layer : weights.layers) total += layer_bytes(layer);
  for (const MtpWeights& m : weights.mtp) total += matrix_bytes(m.eh_proj) + layer_bytes(m.layer);
  ProgressBar progress("converting weights to " + to_string(format), total);
  for (DecoderLayerWeights& layer : weights.layers) {
    const std::size_t bytes = layer_bytes(layer);
    convert_layer(layer, config, format);
    progress.add(bytes);
  }
  for (MtpWeights& m : weights.mtp) {
    const std::size_t bytes = matrix_bytes(m.eh_proj) + layer_bytes(m.layer);
    convert(m.eh_proj, non_expert_format(format));
    convert_layer(m.layer, config, format);
    progress.add(bytes);
  }
  convert(weights.lm_head, non_expert_format(format));
  progress.finish();
}

}  // namespace frugal
