#pragma once
// Multi-head Latent Attention for training (spec 3.2, prefill form), forward
// and backward over packed sequences with causal masking inside each one.
#include <cstdint>
#include <vector>

#include "frugal/model/config.h"
#include "frugal/model/rope.h"
#include "frugal/train/norm.h"
#include "frugal/train/parameters.h"
#include "frugal/train/sequences.h"

namespace frugal {

struct AttentionParams {
  Parameter* q_a = nullptr;       // q_a_proj [rq, D]      (q-LoRA)
  Parameter* q_a_norm = nullptr;  // q_a_layernorm [rq]
  Parameter* q_b = nullptr;       // q_b_proj [H(dn+dr), rq]
  Parameter* q = nullptr;         // q_proj [H(dn+dr), D]  (no q-LoRA)
  Parameter* kv_a = nullptr;      // kv_a_proj_with_mqa [r+dr, D]
  Parameter* kv_a_norm = nullptr; // kv_a_layernorm [r]
  Parameter* kv_b = nullptr;      // kv_b_proj [H(dn+dv), r]
  Parameter* o = nullptr;         // o_proj [D, H dv]
};

// Binds prefix + "q_a_proj.weight", ... ("model.layers.i.self_attn.").
AttentionParams bind_attention(ParameterStore& store, const Config& config, const std::string& prefix);

struct AttentionTape {
  std::vector<float> input;       // x [N, D]
  NormTape q_norm;
  std::vector<float> q_latent;    // RMSNorm(x Wqa^T) [N, rq]
  std::vector<float> queries;     // [N, H, dn+dr], rope part rotated
  NormTape kv_norm;
  std::vector<float> kv_latent;   // c_kv [N, r]
  std::vector<float> kv_b;        // c_kv Wkvb^T [N, H, dn+dv]: k_nope and v
  std::vector<float> keys;        // [N, H, dn+dr]: k_nope and the shared rotated k_pe
  std::vector<float> probs;       // per sequence, per head: [T, T] causal softmax
  std::vector<int64_t> probs_offset;  // per sequence
  std::vector<float> heads_out;   // o [N, H dv]
};

class Attention {
 public:
  explicit Attention(const Config& config);

  // out [N, D] = Attn(x) for the packed sequences; positions restart at 0 in each.
  void forward(const AttentionParams& p, const float* x, const SequenceSpans& spans, float* out,
               AttentionTape& tape) const;
  // dx [N, D] (overwritten) from dy; accumulates weight gradients.
  void backward(const AttentionParams& p, const AttentionTape& tape, const SequenceSpans& spans,
                const float* dy, float* dx) const;

 private:
  // Rotates (or, with `inverse`, applies the transpose of the rotation to)
  // `per_row` vectors of width dr in each row (row stride `ld`, vector
  // stride `stride`), each row at its position inside its sequence.
  void rotate(float* z, int64_t ld, int64_t per_row, int64_t stride, const SequenceSpans& spans,
              bool inverse) const;
  void ensure_angles(int64_t positions) const;

  Config config_;
  RotaryEmbedding rope_;
  float softmax_scale_;
  mutable std::vector<float> cos_, sin_;
};

}  // namespace frugal
