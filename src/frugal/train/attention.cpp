#include "frugal/train/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "frugal/core/thread_pool.h"
#include "frugal/kernels/ops.h"
#include "frugal/train/gemm.h"

namespace frugal {

AttentionParams bind_attention(ParameterStore& store, const Config& config, const std::string& prefix) {
  AttentionParams p;
  if (config.q_lora_rank > 0) {
    p.q_a = &store.get(prefix + "q_a_proj.weight");
    p.q_a_norm = &store.get(prefix + "q_a_layernorm.weight");
    p.q_b = &store.get(prefix + "q_b_proj.weight");
  } else {
    p.q = &store.get(prefix + "q_proj.weight");
  }
  p.kv_a = &store.get(prefix + "kv_a_proj_with_mqa.weight");
  p.kv_a_norm = &store.get(prefix + "kv_a_layernorm.weight");
  p.kv_b = &store.get(prefix + "kv_b_proj.weight");
  p.o = &store.get(prefix + "o_proj.weight");
  return p;
}

Attention::Attention(const Config& config)
    : config_(config), rope_(config), softmax_scale_(static_cast<float>(config.softmax_scale())) {}

void Attention::ensure_angles(int64_t positions) const {
  if (static_cast<int64_t>(cos_.size()) >= positions * rope_.pairs()) return;
  rope_.angles(0, positions, cos_, sin_);
}

void Attention::rotate(float* z, int64_t ld, int64_t per_row, int64_t stride, const SequenceSpans& spans,
                       bool inverse) const {
  const int64_t pairs = rope_.pairs();
  std::vector<float> neg_sin(static_cast<std::size_t>(pairs));
  for (int64_t s = 0; s < spans.count(); ++s) {
    for (int64_t pos = 0; pos < spans.length(s); ++pos) {
      const float* c = cos_.data() + pos * pairs;
      const float* sn = sin_.data() + pos * pairs;
      if (inverse) {  // R(theta)^T = R(-theta); the YaRN factor is symmetric
        for (int64_t i = 0; i < pairs; ++i) neg_sin[i] = -sn[i];
        sn = neg_sin.data();
      }
      float* row = z + (spans.begin(s) + pos) * ld;
      for (int64_t j = 0; j < per_row; ++j) rope_interleaved(row + j * stride, c, sn, 2 * pairs);
    }
  }
}

void Attention::forward(const AttentionParams& p, const float* x, const SequenceSpans& spans, float* out,
                        AttentionTape& tape) const {
  const Config& c = config_;
  const int64_t N = spans.rows(), D = c.hidden_size, H = c.num_attention_heads;
  const int64_t dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim, dv = c.v_head_dim, r = c.kv_lora_rank;
  const int64_t dqk = dn + dr;
  const float eps = static_cast<float>(c.rms_norm_eps);
  ensure_angles(spans.longest());
  tape.input.assign(x, x + N * D);

  // Queries, through the q-LoRA latent when there is one.
  tape.queries.resize(static_cast<std::size_t>(N * H * dqk));
  if (p.q_a != nullptr) {
    const int64_t rq = c.q_lora_rank;
    std::vector<float> latent(static_cast<std::size_t>(N * rq));
    matmul_xwt(x, p.q_a->value.data(), latent.data(), N, rq, D);
    tape.q_latent.resize(latent.size());
    rms_norm_forward(latent.data(), p.q_a_norm->value.data(), N, rq, eps, tape.q_latent.data(), tape.q_norm);
    matmul_xwt(tape.q_latent.data(), p.q_b->value.data(), tape.queries.data(), N, H * dqk, rq);
  } else {
    matmul_xwt(x, p.q->value.data(), tape.queries.data(), N, H * dqk, D);
  }

  // The compressed latent c_kv and the shared rotary key k_pe.
  std::vector<float> kv_a(static_cast<std::size_t>(N * (r + dr)));
  matmul_xwt(x, p.kv_a->value.data(), kv_a.data(), N, r + dr, D);
  tape.kv_latent.resize(static_cast<std::size_t>(N * r));
  rms_norm_forward(kv_a.data(), p.kv_a_norm->value.data(), N, r, eps, tape.kv_latent.data(), tape.kv_norm,
                   r + dr);
  tape.kv_b.resize(static_cast<std::size_t>(N * H * (dn + dv)));
  matmul_xwt(tape.kv_latent.data(), p.kv_b->value.data(), tape.kv_b.data(), N, H * (dn + dv), r);

  // Positions: rotate q_pe of every head and the one k_pe per token.
  rotate(tape.queries.data() + dn, H * dqk, H, dqk, spans, false);
  rotate(kv_a.data() + r, r + dr, 1, 0, spans, false);
  tape.keys.resize(tape.queries.size());
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < H; ++h) {
      float* key = tape.keys.data() + (t * H + h) * dqk;
      std::copy_n(tape.kv_b.data() + (t * H + h) * (dn + dv), dn, key);
      std::copy_n(kv_a.data() + t * (r + dr) + r, dr, key + dn);
    }

  // Causal softmax attention per sequence and head.
  tape.probs_offset.resize(static_cast<std::size_t>(spans.count()));
  int64_t total = 0;
  for (int64_t s = 0; s < spans.count(); ++s) {
    tape.probs_offset[s] = total;
    total += H * spans.length(s) * spans.length(s);
  }
  tape.probs.resize(static_cast<std::size_t>(total));
  tape.heads_out.resize(static_cast<std::size_t>(N * H * dv));
  const int64_t ldq = H * dqk, ldkv = H * (dn + dv), ldo = H * dv;
  ThreadPool::global().parallel_for(static_cast<std::size_t>(spans.count() * H), [&](std::size_t begin,
                                                                                       std::size_t end) {
    for (std::size_t job = begin; job < end; ++job) {
      const int64_t s = static_cast<int64_t>(job) / H, h = static_cast<int64_t>(job) % H;
      const int64_t T = spans.length(s), first = spans.begin(s);
      float* P = tape.probs.data() + tape.probs_offset[s] + h * T * T;
      const float* Q = tape.queries.data() + (first * H + h) * dqk;
      const float* K = tape.keys.data() + (first * H + h) * dqk;
      const float* V = tape.kv_b.data() + (first * H + h) * (dn + dv) + dn;
      // Scores for all pairs (the masked half costs less than skipping it in
      // a blocked product), then the causal softmax of each row.
      gemm_on_this_thread(false, true, T, T, dqk, Q, ldq, K, ldq, 0.0f, P, T);
      for (int64_t i = 0; i < T; ++i) {
        float* row = P + i * T;
        for (int64_t j = 0; j <= i; ++j) row[j] *= softmax_scale_;
        softmax(row, i + 1);
        std::fill(row + i + 1, row + T, 0.0f);
      }
      gemm_on_this_thread(false, false, T, dv, T, P, T, V, ldkv, 0.0f,
                          tape.heads_out.data() + (first * H + h) * dv, ldo);
    }
  });
  matmul_xwt(tape.heads_out.data(), p.o->value.data(), out, N, D, H * dv);
}

void Attention::backward(const AttentionParams& p, const AttentionTape& tape, const SequenceSpans& spans,
                         const float* dy, float* dx) const {
  const Config& c = config_;
  const int64_t N = spans.rows(), D = c.hidden_size, H = c.num_attention_heads;
  const int64_t dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim, dv = c.v_head_dim, r = c.kv_lora_rank;
  const int64_t dqk = dn + dr;

  // Output projection.
  std::vector<float> dheads(static_cast<std::size_t>(N * H * dv));
  accumulate_xtw(dy, tape.heads_out.data(), p.o->grad.data(), N, D, H * dv);
  matmul_xw(dy, p.o->value.data(), dheads.data(), N, D, H * dv);

  // Through softmax attention: gradients of queries, keys and values.
  std::vector<float> dqueries(tape.queries.size()), dkeys(tape.keys.size());
  std::vector<float> dkv_b(tape.kv_b.size());
  const int64_t ldq = H * dqk, ldkv = H * (dn + dv), ldo = H * dv;
  ThreadPool::global().parallel_for(static_cast<std::size_t>(spans.count() * H), [&](std::size_t begin,
                                                                                       std::size_t end) {
    std::vector<float> dP;
    for (std::size_t job = begin; job < end; ++job) {
      const int64_t s = static_cast<int64_t>(job) / H, h = static_cast<int64_t>(job) % H;
      const int64_t T = spans.length(s), first = spans.begin(s);
      const float* P = tape.probs.data() + tape.probs_offset[s] + h * T * T;
      const float* Q = tape.queries.data() + (first * H + h) * dqk;
      const float* K = tape.keys.data() + (first * H + h) * dqk;
      const float* V = tape.kv_b.data() + (first * H + h) * (dn + dv) + dn;
      const float* dO = dheads.data() + (first * H + h) * dv;
      dP.resize(static_cast<std::size_t>(T * T));
      gemm_on_this_thread(false, true, T, T, dv, dO, ldo, V, ldkv, 0.0f, dP.data(), T);       // dP = dO V^T
      gemm_on_this_thread(true, false, T, dv, T, P, T, dO, ldo, 0.0f,                          // dV = P^T dO
                          dkv_b.data() + (first * H + h) * (dn + dv) + dn, ldkv);
      for (int64_t i = 0; i < T; ++i) {  // dS = P (dP - sum_j P dP) * scale; 0 above the diagonal
        const float* p_row = P + i * T;
        float* row = dP.data() + i * T;
        double weighted = 0.0;
        for (int64_t j = 0; j <= i; ++j) weighted += static_cast<double>(p_row[j]) * row[j];
        for (int64_t j = 0; j <= i; ++j) row[j] = p_row[j] * (row[j] - static_cast<float>(weighted)) * softmax_scale_;
        std::fill(row + i + 1, row + T, 0.0f);
      }
      gemm_on_this_thread(false, false, T, dqk, T, dP.data(), T, K, ldq, 0.0f,                 // dQ = dS K
                          dqueries.data() + (first * H + h) * dqk, ldq);
      gemm_on_this_thread(true, false, T, dqk, T, dP.data(), T, Q, ldq, 0.0f,                  // dK = dS^T Q
                          dkeys.data() + (first * H + h) * dqk, ldq);
    }
  });

  // Keys -> k_nope (part of kv_b) and the shared k_pe (summed over heads).
  std::vector<float> dkv_a(static_cast<std::size_t>(N * (r + dr)), 0.0f);
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const float* dkey = dkeys.data() + (t * H + h) * dqk;
      std::copy_n(dkey, dn, dkv_b.data() + (t * H + h) * (dn + dv));
      axpy(1.0f, dkey + dn, dkv_a.data() + t * (r + dr) + r, dr);
    }
  rotate(dkv_a.data() + r, r + dr, 1, 0, spans, true);
  rotate(dqueries.data() + dn, H * dqk, H, dqk, spans, true);

  // c_kv = RMSNorm(kv_a[:, :r]); kv_b = c_kv Wkvb^T.
  std::vector<float> dlatent(static_cast<std::size_t>(N * r));
  accumulate_xtw(dkv_b.data(), tape.kv_latent.data(), p.kv_b->grad.data(), N, H * (dn + dv), r);
  matmul_xw(dkv_b.data(), p.kv_b->value.data(), dlatent.data(), N, H * (dn + dv), r);
  rms_norm_backward(dlatent.data(), p.kv_a_norm->value.data(), tape.kv_norm, r, dkv_a.data(),
                    p.kv_a_norm->grad.data(), false, r + dr);
  accumulate_xtw(dkv_a.data(), tape.input.data(), p.kv_a->grad.data(), N, r + dr, D);
  matmul_xw(dkv_a.data(), p.kv_a->value.data(), dx, N, r + dr, D);

  // Queries.
  if (p.q_a != nullptr) {
    const int64_t rq = c.q_lora_rank;
    std::vector<float> dq_latent(static_cast<std::size_t>(N * rq)), dq_a(dq_latent.size());
    accumulate_xtw(dqueries.data(), tape.q_latent.data(), p.q_b->grad.data(), N, H * dqk, rq);
    matmul_xw(dqueries.data(), p.q_b->value.data(), dq_latent.data(), N, H * dqk, rq);
    rms_norm_backward(dq_latent.data(), p.q_a_norm->value.data(), tape.q_norm, rq, dq_a.data(),
                      p.q_a_norm->grad.data());
    accumulate_xtw(dq_a.data(), tape.input.data(), p.q_a->grad.data(), N, rq, D);
    matmul_xw(dq_a.data(), p.q_a->value.data(), dx, N, rq, D, /*accumulate=*/true);
  } else {
    accumulate_xtw(dqueries.data(), tape.input.data(), p.q->grad.data(), N, H * dqk, D);
    matmul_xw(dqueries.data(), p.q->value.data(), dx, N, H * dqk, D, /*accumulate=*/true);
  }
}

}  // namespace frugal
