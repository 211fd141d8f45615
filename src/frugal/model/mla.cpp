#include "frugal/model/mla.h"

#include <algorithm>
#include <cmath>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/kernels/dot.h"
#include "frugal/kernels/latent_attention.h"
#include "frugal/kernels/latent_attention_q8.h"
#include "frugal/kernels/linear.h"
#include "frugal/kernels/panel_product.h"
#include "frugal/kernels/prefill_attention.h"
#include "frugal/kernels/q8.h"
#include "frugal/kernels/q8_interleaved.h"
#include "frugal/kernels/ops.h"

namespace frugal {
namespace {

struct Dims {
  int64_t H, dn, dr, dv, r, qk;
  explicit Dims(const Config& c)
      : H(c.num_attention_heads), dn(c.qk_nope_head_dim), dr(c.qk_rope_head_dim),
        dv(c.v_head_dim), r(c.kv_lora_rank), qk(c.qk_head_dim()) {}
};

// x[n, D] prepared once for both projections that read it, q_a_proj (or
// q_proj) and kv_a_proj: one quantisation for Q8 and Q4 weights.
const LinearInputs& attention_inputs(const Config& config, const MlaWeights& w, const float* x, int64_t n) {
  thread_local LinearInputs in;  // reused: prefill's run to megabytes
  const WeightMatrix& q_in = config.q_lora_rank > 0 ? w.q_a_proj : w.q_proj;
  prepare_linear_inputs(x, n, config.hidden_size, {&q_in, &w.kv_a_proj}, in);
  return in;
}

// q [n, H, dn+dr] with RoPE applied to every head's last dr values.
std::vector<float> project_queries(const Config& config, const MlaWeights& w, const LinearInputs& x,
                                   const RopeAngles& angles) {
  const Dims d(config);
  const int64_t n = x.n;
  std::vector<float> q(static_cast<std::size_t>(n * d.H * d.qk));
  if (config.q_lora_rank > 0) {
    std::vector<float> compressed(static_cast<std::size_t>(n * config.q_lora_rank));
    linear(x, w.q_a_proj, compressed.data());
    rms_norm(compressed.data(), w.q_a_norm.data(), n, config.q_lora_rank,
             static_cast<float>(config.rms_norm_eps), compressed.data());
    linear(compressed.data(), n, w.q_b_proj, q.data());
  } else {
    linear(x, w.q_proj, q.data());
  }
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < d.H; ++h)
      rope_interleaved(q.data() + (t * d.H + h) * d.qk + d.dn, angles.cos.data() + t * (d.dr / 2),
                       angles.sin.data() + t * (d.dr / 2), d.dr);
  return q;
}

// c_kv = RMSNorm(x W_kva^T [:r]) and k_pe = RoPE(x W_kva^T [r:]) into each token's cache slot.
void write_latents(const Config& config, const MlaWeights& w, const LinearInputs& x, const CacheSlot* slots,
                   const RopeAngles& angles, int layer) {
  const Dims d(config);
  const int64_t n = x.n;
  std::vector<float> a(static_cast<std::size_t>(n * (d.r + d.dr)));
  linear(x, w.kv_a_proj, a.data());
  std::vector<float> latent(static_cast<std::size_t>(d.r)), key(static_cast<std::size_t>(d.dr));
  for (int64_t t = 0; t < n; ++t) {
    const float* row = a.data() + t * (d.r + d.dr);
    rms_norm(row, w.kv_a_norm.data(), 1, d.r, static_cast<float>(config.rms_norm_eps), latent.data());
    std::copy_n(row + d.r, d.dr, key.data());
    rope_interleaved(key.data(), angles.cos.data() + t * (d.dr / 2), angles.sin.data() + t * (d.dr / 2), d.dr);
    slots[t].cache->store(layer, slots[t].position, latent.data(), key.data());
  }
}

// Section 3.2: expand the cached latents into per-head keys and values.
void attend_naive(const Config& config, const MlaWeights& w, const float* q, int64_t n,
                  int64_t first, const KvCache& cache, int layer, float* o) {
  const Dims d(config);
  const int64_t context = first + n;
  const float scale = static_cast<float>(config.softmax_scale());
  std::vector<float> latents(static_cast<std::size_t>(context * d.r)), rope_keys(static_cast<std::size_t>(context * d.dr));
  for (int64_t t = 0; t < context; ++t) {
    cache.load_latent(layer, t, latents.data() + t * d.r);
    cache.load_rope_key(layer, t, rope_keys.data() + t * d.dr);
  }
  // Head-major [H][context][dn + dv], so that each head's rows are
  // contiguous for the attention; one quantisation of the latents serves
  // every head's slice of kv_b_proj.
  const int64_t head_width = d.dn + d.dv;
  std::vector<float> kv(static_cast<std::size_t>(d.H * context * head_width));
  LinearInputs latent_inputs;
  prepare_linear_inputs(latents.data(), context, d.r, {&w.kv_b_proj}, latent_inputs);
  for (int64_t h = 0; h < d.H; ++h)
    linear(latent_inputs, w.kv_b_proj.row_slice(h * head_width, head_width), kv.data() + h * context * head_width);

  // Jobs of one head and kQueriesPerJob tokens: the keys are the head's
  // k_nope rows beside the shared roped keys, the values its v rows; each
  // token sees the positions up to its own (causal).
  constexpr int64_t kQueriesPerJob = 16;  // the kernel's block
  const int64_t runs = (n + kQueriesPerJob - 1) / kQueriesPerJob;
  ThreadPool::global().parallel_for_balanced(
      static_cast<std::size_t>(d.H * runs), static_cast<std::size_t>(context * (d.qk + d.dv) * kQueriesPerJob),
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t job = begin; job < end; ++job) {
          const int64_t h = static_cast<int64_t>(job) / runs, s0 = static_cast<int64_t>(job) % runs * kQueriesPerJob;
          const float* head_kv = kv.data() + h * context * head_width;
          PrefillAttentionArgs args;
          args.queries = std::min(kQueriesPerJob, n - s0);
          args.first = first + s0;
          args.key_dim = d.dn;
          args.rope_dim = d.dr;
          args.value_dim = d.dv;
          args.scale = scale;
          args.q_nope = q + (s0 * d.H + h) * d.qk;
          args.q_rope = args.q_nope + d.dn;
          args.q_stride = d.H * d.qk;
          args.keys = head_kv;
          args.key_stride = head_width;
          args.rope_keys = rope_keys.data();
          args.rope_stride = d.dr;
          args.values = head_kv + d.dn;
          args.value_stride = head_width;
          args.out = o + (s0 * d.H + h) * d.dv;
          args.out_stride = d.H * d.dv;
          prefill_attention(args);
        }
      });
}

// Q8 W_uk^T: each head's q_nope rows are quantised once, on the caller,
// then the heads' products go over the threads.
void absorb_queries_q8(const Dims& d, const MlaWeights& w, const float* q, int64_t n, float* q_latent) {
  // Reused, so the buffers keep their capacity. The workers must see the
  // caller's instance, not their own thread_local one: hence the reference.
  thread_local std::vector<LinearInputs> caller_inputs;
  thread_local std::vector<float> q_nope;
  std::vector<LinearInputs>& inputs = caller_inputs;
  inputs.resize(static_cast<std::size_t>(d.H));
  q_nope.resize(static_cast<std::size_t>(n * d.dn));
  for (int64_t h = 0; h < d.H; ++h) {
    for (int64_t s = 0; s < n; ++s) std::copy_n(q + (s * d.H + h) * d.qk, d.dn, q_nope.data() + s * d.dn);
    prepare_linear_inputs(q_nope.data(), n, d.dn, {&w.w_uk_transposed[h]}, inputs[h]);
  }
  ThreadPool::global().parallel_for_balanced(
      static_cast<std::size_t>(d.H), static_cast<std::size_t>(n * d.dn * d.r), [&](std::size_t begin, std::size_t end) {
        for (auto h = static_cast<int64_t>(begin); h < static_cast<int64_t>(end); ++h)
          linear_rows(inputs[h], w.w_uk_transposed[h], 0, d.r, q_latent + h * n * d.r);
      });
}

// Section 4: attention directly over the cached latents; token s sees its
// own cache up to and including its position. Three passes: every head's
// queries absorb W_uk (q_latent = q_nope W_uk) for all the tokens at once;
// each token attends in as many jobs as keep the threads busy (split by
// heads over float and BF16 rows, by positions over q8 tiles); every head's
// latent outputs leave through W_uv for all the tokens at once. Latent
// vectors are laid out head-major [H, n, r], so a head's rows for the batch
// are contiguous.
void absorb_queries(const Dims& d, const MlaWeights& w, const float* q, int64_t n, float* q_latent) {
  if (!w.w_uk_transposed.empty() && w.w_uk_transposed[0].dtype == DType::I8)
    return absorb_queries_q8(d, w, q, n, q_latent);
  ThreadPool::global().parallel_for_balanced(
      static_cast<std::size_t>(d.H), static_cast<std::size_t>(n * d.dn * d.r), [&](std::size_t begin, std::size_t end) {
        for (auto h = static_cast<int64_t>(begin); h < static_cast<int64_t>(end); ++h) {
          float* head_latent = q_latent + h * n * d.r;
          if (!w.w_uk_transposed.empty() && w.w_uk_transposed[h].panels) {
            const WeightMatrix& uk_t = w.w_uk_transposed[h];
            panel_product(uk_t.panels->data(), d.r, d.dn, 0, panel_count(d.r), q + h * d.qk, d.H * d.qk, n,
                          head_latent, d.r);
          } else if (!w.w_uk_transposed.empty()) {  // BF16 rows of W_uk^T, four at a time
            const WeightMatrix& uk_t = w.w_uk_transposed[h];
            const std::size_t stride = uk_t.row_bytes();
            for (int64_t s = 0; s < n; ++s) {
              const float* q_nope = q + (s * d.H + h) * d.qk;
              int64_t c = 0;
              for (; c + 4 <= d.r; c += 4) dot4_bf16_f32(uk_t.data + c * stride, stride, q_nope, d.dn, head_latent + s * d.r + c);
              for (; c < d.r; ++c) head_latent[s * d.r + c] = dot_bf16_f32(uk_t.data + c * stride, q_nope, d.dn);
            }
          } else {
            for (int64_t s = 0; s < n; ++s)
              linear_transposed(q + (s * d.H + h) * d.qk, w.w_uk[h], head_latent + s * d.r);
          }
        }
      });
}

// Float and BF16 caches: jobs of a multiple of 4 heads (the kernel's
// group), enough of them for every thread when the batch is smaller than
// the pool.
void attend_cached_rows(const Dims& d, float scale, const float* q, const float* q_latent, int64_t n,
                        const CacheSlot* slots, int layer, float* o_latent) {
  int64_t longest = 0;
  for (int64_t s = 0; s < n; ++s) longest = std::max(longest, slots[s].position + 1);
  const int64_t threads = ThreadPool::global().num_threads();
  const int64_t jobs_per_token = std::min<int64_t>((d.H + 3) / 4, std::max<int64_t>(1, (threads + n - 1) / n));
  const int64_t heads_per_job = ((d.H + jobs_per_token - 1) / jobs_per_token + 3) / 4 * 4;
  const int64_t groups = (d.H + heads_per_job - 1) / heads_per_job;
  ThreadPool::global().parallel_for_balanced(
      static_cast<std::size_t>(n * groups), static_cast<std::size_t>(heads_per_job * longest * (2 * d.r + d.dr)),
      [&](std::size_t begin, std::size_t end) {
        std::vector<float> scratch(static_cast<std::size_t>(heads_per_job * longest));
        for (std::size_t job = begin; job < end; ++job) {
          const int64_t s = static_cast<int64_t>(job) / groups;
          const int64_t h0 = static_cast<int64_t>(job) % groups * heads_per_job;
          const KvCache& cache = *slots[s].cache;
          LatentAttentionArgs args;
          args.heads = static_cast<int>(std::min(heads_per_job, d.H - h0));
          args.positions = slots[s].position + 1;
          args.latent_dim = d.r;
          args.rope_dim = d.dr;
          args.scale = scale;
          args.q_latent = q_latent + (h0 * n + s) * d.r;
          args.q_latent_stride = n * d.r;
          args.q_rope = q + (s * d.H + h0) * d.qk + d.dn;
          args.q_rope_stride = d.qk;
          args.rows_dtype = cache.dtype();
          args.latents = cache.latent_rows(layer);
          args.rope_keys = cache.rope_key_rows(layer);
          args.scratch = scratch.data();
          args.out = o_latent + (h0 * n + s) * d.r;
          args.out_stride = n * d.r;
          latent_attention(args);
        }
      });
}

// q8 caches: every head of a token at once (the int8 kernel reads each
// tile once for all of them), its positions split into spans so that one
// decoded token keeps every thread busy reading disjoint tiles; the spans'
// partial softmaxes are merged per token.
void attend_cached_tiles(const Dims& d, float scale, const float* q, const float* q_latent, int64_t n,
                         const CacheSlot* slots, int layer, float* o_latent) {
  // Each token's positions split into spans, about four per thread and none
  // shorter than kLeastSpanTiles, so that a thread that falls behind (a
  // shared VM's cores do) leaves spans for the others to take over.
  constexpr int64_t kLeastSpanTiles = 16;  // 256 positions: merging costs less than a span
  constexpr int64_t kSpansPerThread = 4;
  const int64_t threads = ThreadPool::global().num_threads();
  const int64_t wanted = std::max<int64_t>(1, (kSpansPerThread * threads + n - 1) / n);
  std::vector<LatentAttentionQ8Args> args(static_cast<std::size_t>(n));
  std::vector<QuantizedLatentQueries> queries(static_cast<std::size_t>(n));
  std::vector<int64_t> first_job(static_cast<std::size_t>(n + 1), 0);
  for (int64_t s = 0; s < n; ++s) {
    LatentAttentionQ8Args& a = args[s];
    a.heads = static_cast<int>(d.H);
    a.positions = slots[s].position + 1;
    a.scale = scale;
    a.q_latent = q_latent + s * d.r;
    a.q_latent_stride = n * d.r;
    a.q_rope = q + s * d.H * d.qk + d.dn;
    a.q_rope_stride = d.qk;
    a.layout = slots[s].cache->q8_layout();
    a.tiles = slots[s].cache->q8_tiles(layer);
    const int64_t tiles = LatentTileLayout::tiles_for(a.positions);
    first_job[s + 1] = first_job[s] + std::clamp<int64_t>(tiles / kLeastSpanTiles, 1, wanted);
  }
  // The queries once per token, shared by its spans.
  ThreadPool::global().parallel_for(static_cast<std::size_t>(n), static_cast<std::size_t>(d.H * (d.r + d.dr)),
                                    [&](std::size_t begin, std::size_t end) {
                                      for (std::size_t s = begin; s < end; ++s) quantize_latent_queries(args[s], queries[s]);
                                    });
  const int64_t jobs = first_job[n];
  std::vector<float> maxima(static_cast<std::size_t>(jobs * d.H)), sums(maxima.size());
  std::vector<float> partial(static_cast<std::size_t>(jobs * d.H * d.r));
  std::vector<AttentionSpan> spans(static_cast<std::size_t>(jobs));
  for (int64_t j = 0; j < jobs; ++j)
    spans[j] = {maxima.data() + j * d.H, sums.data() + j * d.H, partial.data() + j * d.H * d.r};
  // Each thread takes its share of spans in order, so the chunk a span
  // fetches past its end is the next span's first; then it takes over what
  // a slower thread has left.
  ThreadPool::global().parallel_for_balanced(
      static_cast<std::size_t>(jobs), static_cast<std::size_t>(d.H * (slots[0].position + 1) * (2 * d.r + d.dr) / jobs),
      [&](std::size_t begin, std::size_t end) {
        for (auto j = static_cast<int64_t>(begin); j < static_cast<int64_t>(end); ++j) {
          const int64_t s = std::upper_bound(first_job.begin(), first_job.end(), j) - first_job.begin() - 1;
          const int64_t count = first_job[s + 1] - first_job[s], k = j - first_job[s];
          const int64_t tiles = LatentTileLayout::tiles_for(args[s].positions);
          latent_attention_q8_span(args[s], queries[s], tiles * k / count * kLatentTilePositions,
                                   tiles * (k + 1) / count * kLatentTilePositions, spans[j]);
        }
      });
  for (int64_t s = 0; s < n; ++s)
    merge_attention_spans(static_cast<int>(d.H), static_cast<int>(d.r), spans.data() + first_job[s],
                          static_cast<int>(first_job[s + 1] - first_job[s]), o_latent + s * d.r, n * d.r);
}

void attend_absorbed(const Config& config, const MlaWeights& w, const float* q, int64_t n,
                     const CacheSlot* slots, int layer, float* o) {
  const Dims d(config);
  for (int64_t s = 1; s < n; ++s)
    if (slots[s].cache->dtype() != slots[0].cache->dtype())
      fail("attention: one batch mixes KV caches of different precisions");
  const float scale = static_cast<float>(config.softmax_scale());
  std::vector<float> q_latent(static_cast<std::size_t>(d.H * n * d.r));
  std::vector<float> o_latent(static_cast<std::size_t>(d.H * n * d.r));
  absorb_queries(d, w, q, n, q_latent.data());
  if (slots[0].cache->dtype() == DType::I8) {
    attend_cached_tiles(d, scale, q, q_latent.data(), n, slots, layer, o_latent.data());
  } else {
    attend_cached_rows(d, scale, q, q_latent.data(), n, slots, layer, o_latent.data());
  }

  ThreadPool::global().parallel_for_balanced(
      static_cast<std::size_t>(d.H), static_cast<std::size_t>(n * d.r * d.dv), [&](std::size_t begin, std::size_t end) {
        std::vector<float> head_out(static_cast<std::size_t>(n * d.dv));
        for (auto h = static_cast<int64_t>(begin); h < static_cast<int64_t>(end); ++h) {
          linear(o_latent.data() + h * n * d.r, n, w.w_uv[h], head_out.data());  // o_lat W_uv^T: [n, dv]
          for (int64_t s = 0; s < n; ++s)
            std::copy_n(head_out.data() + s * d.dv, d.dv, o + (s * d.H + h) * d.dv);
        }
      });
}

// Head h's W_uk^T [r, dn] as floats.
std::vector<float> transposed_w_uk(const Dims& d, const WeightMatrix& uk) {
  std::vector<float> transposed(static_cast<std::size_t>(d.r * d.dn));
  for (int64_t i = 0; i < d.dn; ++i)
    for (int64_t c = 0; c < d.r; ++c) transposed[c * d.dn + i] = uk.element(i, c);
  return transposed;
}

}  // namespace

AttentionForm prefill_attention_form(const Config& config) {
  const Dims d(config);
  return 2 * d.r <= d.dn + d.dv ? AttentionForm::Absorbed : AttentionForm::Naive;
}

AttentionForm prefill_attention_form(const Config& config, DType cache_dtype, int64_t cached, int64_t n) {
  const bool short_chunk = cache_dtype == DType::I8 || n <= kMostAbsorbedFloatPrefill;
  if (short_chunk && cached >= 2 * n) return AttentionForm::Absorbed;
  return prefill_attention_form(config);
}

std::vector<WeightMatrix> transposed_w_uk_q8(const Config& config, const WeightMatrix& kv_b_proj) {
  const Dims d(config);
  if (d.dn % kQ8Block != 0 || d.r % kQ8InterleavedRows != 0) return {};
  std::vector<WeightMatrix> transposed;
  for (int64_t h = 0; h < d.H; ++h) {
    const WeightMatrix uk = kv_b_proj.row_slice(h * (d.dn + d.dv), d.dn);
    const std::string name = uk.name + ".w_uk_transposed." + std::to_string(h);
    transposed.push_back(to_q8(make_f32_weight(name, d.r, d.dn, transposed_w_uk(d, uk)), true));
  }
  return transposed;
}

void derive_absorbed_weights(const Config& config, MlaWeights& weights, std::vector<WeightMatrix> uk_transposed) {
  const Dims d(config);
  weights.w_uk.clear();
  weights.w_uv.clear();
  for (int64_t h = 0; h < d.H; ++h) {
    weights.w_uk.push_back(weights.kv_b_proj.row_slice(h * (d.dn + d.dv), d.dn));
    weights.w_uv.push_back(weights.kv_b_proj.row_slice(h * (d.dn + d.dv) + d.dn, d.dv));
  }
  weights.w_uk_transposed = std::move(uk_transposed);
  if (!weights.w_uk_transposed.empty()) return;
  const DType dtype = weights.kv_b_proj.dtype;
  if (dtype != DType::F32 && dtype != DType::I8) return;
  for (int64_t h = 0; h < d.H; ++h) {
    const WeightMatrix& uk = weights.w_uk[h];
    std::vector<float> transposed = transposed_w_uk(d, uk);
    const std::string name = uk.name + ".w_uk_transposed." + std::to_string(h);
    if (dtype == DType::F32) {
      weights.w_uk_transposed.push_back(make_f32_weight(name, d.r, d.dn, std::move(transposed)));
      attach_panels(weights.w_uk_transposed.back());
      attach_panels(weights.w_uv[h]);  // a view of kv_b_proj: panels of its own
    } else {
      // Q8: its dequantised values in BF16 (8 significant bits hold an int8
      // code; the scale adds rounding of 2^-9 relative), 2 bytes a weight
      // where per-row decoding of W_uk cost ~5% of decode.
      weights.w_uk_transposed.push_back(make_bf16_weight(name, d.r, d.dn, transposed));
    }
  }
}

void mla_forward(const Config& config, const MlaWeights& weights, const float* x, int64_t n,
                 int64_t first, const RopeAngles& angles, KvCache& cache, int layer,
                 AttentionForm form, float* out) {
  const Dims d(config);
  cache.reserve(layer, first, n);
  std::vector<CacheSlot> slots(static_cast<std::size_t>(n));
  for (int64_t t = 0; t < n; ++t) slots[t] = {&cache, first + t};
  const LinearInputs& in = attention_inputs(config, weights, x, n);
  const std::vector<float> q = project_queries(config, weights, in, angles);
  write_latents(config, weights, in, slots.data(), angles, layer);
  cache.mark_filled(layer, first + n);

  std::vector<float> o(static_cast<std::size_t>(n * d.H * d.dv));
  if (form == AttentionForm::Naive) {
    attend_naive(config, weights, q.data(), n, first, cache, layer, o.data());
  } else {
    attend_absorbed(config, weights, q.data(), n, slots.data(), layer, o.data());
  }
  linear(o.data(), n, weights.o_proj, out);
}

void mla_decode_batch(const Config& config, const MlaWeights& weights, const float* x, int64_t n,
                      const CacheSlot* slots, const RopeAngles& angles, int layer, float* out) {
  const Dims d(config);
  for (int64_t t = 0; t < n; ++t) slots[t].cache->reserve(layer, slots[t].position, 1);
  const LinearInputs& in = attention_inputs(config, weights, x, n);
  const std::vector<float> q = project_queries(config, weights, in, angles);
  write_latents(config, weights, in, slots, angles, layer);
  for (int64_t t = 0; t < n; ++t) slots[t].cache->mark_filled(layer, slots[t].position + 1);
  std::vector<float> o(static_cast<std::size_t>(n * d.H * d.dv));
  attend_absorbed(config, weights, q.data(), n, slots, layer, o.data());
  linear(o.data(), n, weights.o_proj, out);
}

}  // namespace frugal
