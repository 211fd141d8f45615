#pragma once
// Multi-head Latent Attention (spec sections 3.2 and 4).
//
// Keys and values are compressed into one latent c_kv per token (cached with
// the shared roped key k_pe). Two algebraically identical forms:
//  * naive:    expand every cached latent into per-head k_nope and v with
//              kv_b_proj, then ordinary attention (cheaper for long prefills);
//  * absorbed: fold the K half of kv_b_proj into the query (q_lat = q_nope
//              W_uk) and apply the V half after attention, so attention runs
//              directly over the cached latents (DeepSeek's decode form).
#include <cstdint>
#include <vector>

#include "frugal/kernels/weight_matrix.h"
#include "frugal/model/config.h"
#include "frugal/model/kv_cache.h"

namespace frugal {

enum class AttentionForm { Naive, Absorbed };

// The form with fewer multiply-adds per query, cached position and head:
// absorbed 2r + dr (scores and output both over the r-wide latent), naive
// dn + dr + dv (over expanded keys and values). Small models (r = 32 beside
// dn = dv = 32) prefill absorbed; DeepSeek's (r = 512 beside 128 + 128)
// prefill naive, as its reference code does.
AttentionForm prefill_attention_form(const Config& config);
// The same for n new tokens after `cached` ones in a cache of `cache_dtype`.
// The absorbed form leaves the cached latents unexpanded, which wins once
// they outnumber the new tokens twice: over a q8 cache (int8, about 4x the
// float rate; measured with 512-token chunks of V2-Lite: naive ahead at 512
// cached, absorbed at 2,048; at 16K 139 against 34 tokens/s), and over a
// float or BF16 cache for chunks of at most kMostAbsorbedFloatPrefill tokens
// (V2-Lite, 16 tokens: 1.3x naive's rate at 1,024 cached, 2.4x at 4,096;
// 64 tokens: naive ahead at 1,024, even at 4,096).
inline constexpr int64_t kMostAbsorbedFloatPrefill = 32;
AttentionForm prefill_attention_form(const Config& config, DType cache_dtype, int64_t cached, int64_t n);

struct MlaWeights {
  WeightMatrix q_proj;                 // [H(dn+dr), D], when q_lora_rank == 0
  WeightMatrix q_a_proj;               // [rq, D]
  std::vector<float> q_a_norm;         // [rq]
  WeightMatrix q_b_proj;               // [H(dn+dr), rq]
  WeightMatrix kv_a_proj;              // [r + dr, D]: latent rows, then the k_pe rows
  std::vector<float> kv_a_norm;        // [r]
  WeightMatrix kv_b_proj;              // [H(dn+dv), r]
  WeightMatrix o_proj;                 // [D, H dv]
  // Derived at load time as views of kv_b_proj, per head h:
  std::vector<WeightMatrix> w_uk;      // [dn, r]: k_nope = c_kv W_uk^T
  std::vector<WeightMatrix> w_uv;      // [dv, r]: v = c_kv W_uv^T
  // W_uk^T [r, dn] per head, copied when kv_b_proj is float32 (small models,
  // the policy during GRPO; packed in panels) or Q8 (as Q8 quantised from
  // the stored rows, transposed_w_uk_q8; as BF16 where its shape does not
  // allow): q_nope W_uk is then a row product for a whole batch of tokens
  // instead of dn short axpys per token.
  std::vector<WeightMatrix> w_uk_transposed;
};

// Splits kv_b_proj into the per-head absorbed matrices. `uk_transposed`, if
// not empty, is W_uk^T already made (transposed_w_uk_q8) and kept as it is.
void derive_absorbed_weights(const Config& config, MlaWeights& weights,
                             std::vector<WeightMatrix> uk_transposed = {});

// W_uk^T per head as Q8 with 16 rows interleaved, quantised from kv_b_proj's
// rows as stored (before kv_b_proj itself is converted, so the values are
// rounded once); empty unless dn is a multiple of 32 and r of 16.
std::vector<WeightMatrix> transposed_w_uk_q8(const Config& config, const WeightMatrix& kv_b_proj);

struct RopeAngles {
  std::vector<float> cos, sin;  // [n, dr/2]
};

// Where one token's latent goes: a sequence's cache and the token's position in it.
struct CacheSlot {
  KvCache* cache = nullptr;
  int64_t position = 0;
};

// Attention for n tokens at positions first .. first+n-1 of one sequence:
// writes their latents and roped keys into `cache` (layer `layer`), attends
// causally over everything cached up to each token, and writes out [n, D].
void mla_forward(const Config& config, const MlaWeights& weights, const float* x, int64_t n,
                 int64_t first, const RopeAngles& angles, KvCache& cache, int layer,
                 AttentionForm form, float* out);

// Decode step of n independent sequences: token t continues slots[t] (its own
// cache, at the next position; angles row t is for that position). Queries,
// latents and the output projection run as n-row products, so each weight is
// read once for all sequences; attention is the absorbed form per sequence.
void mla_decode_batch(const Config& config, const MlaWeights& weights, const float* x, int64_t n,
                      const CacheSlot* slots, const RopeAngles& angles, int layer, float* out);

}  // namespace frugal
