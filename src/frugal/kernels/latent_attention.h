#pragma once
// The absorbed form of MLA attention (spec section 4) over one sequence's
// latent cache, for a group of heads at once. Every head attends to the same
// cached rows, so each row is loaded once for the whole group, and the
// scores, softmax and weighted sum run as three SIMD passes instead of one
// short dot product, exp and axpy per head and position:
//   score[h][t] = (q_latent[h] . latent[t] + q_rope[h] . rope_key[t]) * scale   for t < positions
//   p[h]        = softmax(score[h])
//   out[h]      = sum_t p[h][t] latent[t]
// Any dimensions work; the AVX-512 path masks the last partial vector.
#include <cstdint>

#include "frugal/core/cpu_features.h"
#include "frugal/core/dtype.h"

namespace frugal {

struct LatentAttentionArgs {
  int heads = 0;
  int64_t positions = 0;   // cached rows the queries see
  int64_t latent_dim = 0;  // kv_lora_rank
  int64_t rope_dim = 0;    // qk_rope_head_dim
  float scale = 1.0f;
  const float* q_latent = nullptr;  // head h's latent query at q_latent + h * q_latent_stride
  int64_t q_latent_stride = 0;      // 0: latent_dim (packed)
  const float* q_rope = nullptr;    // head h's rope query at q_rope + h * q_rope_stride
  int64_t q_rope_stride = 0;
  DType rows_dtype = DType::F32;     // of the cached rows: F32, or BF16 (widened exactly)
  const void* latents = nullptr;     // [positions, latent_dim]
  const void* rope_keys = nullptr;   // [positions, rope_dim]
  float* probabilities = nullptr;    // scratch [heads, positions]; p on return
  float* out = nullptr;              // head h's output at out + h * out_stride
  int64_t out_stride = 0;            // 0: latent_dim (packed)
};

void latent_attention(const LatentAttentionArgs& args);
// One implementation, for tests that compare each level with the portable one.
void latent_attention_at(SimdLevel level, const LatentAttentionArgs& args);

}  // namespace frugal
