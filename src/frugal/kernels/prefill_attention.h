#pragma once
// Causal attention of one head in prefill, over keys and values expanded
// from the latent cache (MLA's naive form, spec section 3.2):
//   score[s][t] = (q_nope[s] . k_nope[t] + q_rope[s] . rope_key[t]) * scale   for t <= first + s
//   out[s]      = sum_t softmax(score[s])[t] v[t]
// Query s is the token at position first + s. Many queries share every key,
// so the AVX-512 path works like a matrix product: 16 queries fill the 16
// lanes of a vector, each key value is broadcast against them, and the
// scores, softmax and weighted sum run lane-wise, with no horizontal sums
// (latent_attention.h, built for one query per head, reduces every
// score across lanes). Other SIMD levels run latent_attention's kernel, a
// block of queries per call.
#include <cstdint>

#include "frugal/core/cpu_features.h"

namespace frugal {

struct PrefillAttentionArgs {
  int64_t queries = 0;  // query s sees positions [0, first + s]
  int64_t first = 0;
  int64_t key_dim = 0;    // qk_nope_head_dim
  int64_t rope_dim = 0;   // qk_rope_head_dim
  int64_t value_dim = 0;  // v_head_dim
  float scale = 1.0f;
  const float* q_nope = nullptr;  // query s's at q_nope + s * q_stride
  const float* q_rope = nullptr;  // query s's at q_rope + s * q_stride
  int64_t q_stride = 0;
  const float* keys = nullptr;       // position t's k_nope at keys + t * key_stride
  int64_t key_stride = 0;
  const float* rope_keys = nullptr;  // position t's roped key at rope_keys + t * rope_stride
  int64_t rope_stride = 0;
  const float* values = nullptr;     // position t's v at values + t * value_stride
  int64_t value_stride = 0;
  float* out = nullptr;              // query s's output [value_dim] at out + s * out_stride
  int64_t out_stride = 0;
};

void prefill_attention(const PrefillAttentionArgs& args);
void prefill_attention_at(SimdLevel level, const PrefillAttentionArgs& args);  // tests

}  // namespace frugal
