#include "frugal/train/mixture.h"

#include <cmath>
#include <numeric>

#include "frugal/model/router.h"
#include "frugal/train/gemm.h"

namespace frugal {

MixtureParams bind_mixture(ParameterStore& store, const Config& config, const std::string& prefix) {
  MixtureParams p;
  p.router = &store.get(prefix + "gate.weight");
  p.bias = store.find(prefix + "gate.e_score_correction_bias");
  for (int e = 0; e < config.n_routed_experts; ++e)
    p.experts.push_back(bind_feed_forward(store, prefix + "experts." + std::to_string(e) + "."));
  if (config.n_shared_experts > 0) p.shared = bind_feed_forward(store, prefix + "shared_experts.");
  return p;
}

namespace {

void affinities(const Config& config, const float* logits, float* s) {
  const int E = config.n_routed_experts;
  if (config.scoring_func == ScoringFunc::Sigmoid) {
    for (int e = 0; e < E; ++e) s[e] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(logits[e]))));
    return;
  }
  double max_logit = logits[0], sum = 0.0;
  for (int e = 1; e < E; ++e) max_logit = std::max(max_logit, static_cast<double>(logits[e]));
  std::vector<double> ex(E);
  for (int e = 0; e < E; ++e) sum += ex[e] = std::exp(logits[e] - max_logit);
  for (int e = 0; e < E; ++e) s[e] = static_cast<float>(ex[e] / sum);
}

}  // namespace

double mixture_forward(const Config& config, const MixtureParams& p, const float* x, const SequenceSpans& spans,
                       double balance_alpha, float* out, MixtureTape& tape) {
  const int64_t N = spans.rows(), D = config.hidden_size;
  const int E = config.n_routed_experts, K = config.num_experts_per_tok;
  tape.input.assign(x, x + N * D);

  std::vector<float> logits(static_cast<std::size_t>(N * E));
  matmul_xwt(x, p.router->value.data(), logits.data(), N, E, D);
  tape.affinity.resize(logits.size());
  tape.ids.resize(static_cast<std::size_t>(N * K));
  tape.weights.resize(tape.ids.size());
  const float* bias = p.bias ? p.bias->value.data() : nullptr;
  for (int64_t t = 0; t < N; ++t) {
    affinities(config, logits.data() + t * E, tape.affinity.data() + t * E);
    select_experts(config, logits.data() + t * E, bias, tape.ids.data() + t * K, tape.weights.data() + t * K);
  }

  tape.slots.assign(E, {});
  tape.load.assign(E, 0);
  for (int64_t slot = 0; slot < N * K; ++slot) tape.slots[tape.ids[slot]].push_back(slot);
  for (int e = 0; e < E; ++e) tape.load[e] = static_cast<int64_t>(tape.slots[e].size());

  // Shared experts on every row, then each routed expert on its rows.
  if (p.shared) {
    feed_forward_forward(*p.shared, x, N, out, tape.shared);
  } else {
    std::fill(out, out + N * D, 0.0f);
  }
  tape.experts.resize(E);
  tape.expert_out.resize(E);
  std::vector<float> rows;
  for (int e = 0; e < E; ++e) {
    const std::vector<int64_t>& slots = tape.slots[e];
    const int64_t n = static_cast<int64_t>(slots.size());
    rows.resize(static_cast<std::size_t>(n * D));
    for (int64_t j = 0; j < n; ++j) std::copy_n(x + (slots[j] / K) * D, D, rows.data() + j * D);
    tape.expert_out[e].resize(static_cast<std::size_t>(n * D));
    feed_forward_forward(p.experts[e], rows.data(), n, tape.expert_out[e].data(), tape.experts[e]);
    for (int64_t j = 0; j < n; ++j) {
      const float w = tape.weights[slots[j]];
      float* o = out + (slots[j] / K) * D;
      const float* y = tape.expert_out[e].data() + j * D;
      for (int64_t d = 0; d < D; ++d) o[d] += w * y[d];
    }
  }

  // Sequence-wise balance loss: alpha * sum_i f_i P_i, with f from the experts
  // actually selected and P from the affinities normalised over all experts.
  double balance = 0.0;
  tape.balance_f.assign(static_cast<std::size_t>(spans.count()), std::vector<float>(E, 0.0f));
  for (int64_t s = 0; s < spans.count(); ++s) {
    const int64_t T = spans.length(s);
    if (T == 0) continue;
    std::vector<double> counts(E, 0.0), P(E, 0.0);
    for (int64_t t = spans.begin(s); t < spans.begin(s) + T; ++t) {
      for (int k = 0; k < K; ++k) counts[tape.ids[t * K + k]] += 1.0;
      const float* a = tape.affinity.data() + t * E;
      const double total = std::accumulate(a, a + E, 0.0);
      for (int e = 0; e < E; ++e) P[e] += a[e] / total / T;
    }
    for (int e = 0; e < E; ++e) {
      const double f = static_cast<double>(E) / (static_cast<double>(K) * T) * counts[e];
      tape.balance_f[s][e] = static_cast<float>(f);
      balance += balance_alpha * f * P[e];
    }
  }
  return balance;
}

void mixture_backward(const Config& config, const MixtureParams& p, const MixtureTape& tape,
                      const SequenceSpans& spans, double balance_alpha, double balance_grad_scale,
                      const float* dy, float* dx) {
  const int64_t N = spans.rows(), D = config.hidden_size;
  const int E = config.n_routed_experts, K = config.num_experts_per_tok;

  if (p.shared) {
    feed_forward_backward(*p.shared, tape.shared, dy, dx);
  } else {
    std::fill(dx, dx + N * D, 0.0f);
  }

  // Routed experts: d(expert output) = w * dy; d(w) = dy . expert output.
  std::vector<float> dweights(static_cast<std::size_t>(N * K), 0.0f);
  std::vector<float> drows, dinput;
  for (int e = 0; e < E; ++e) {
    const std::vector<int64_t>& slots = tape.slots[e];
    const int64_t n = static_cast<int64_t>(slots.size());
    if (n == 0) continue;
    drows.resize(static_cast<std::size_t>(n * D));
    dinput.resize(drows.size());
    for (int64_t j = 0; j < n; ++j) {
      const float w = tape.weights[slots[j]];
      const float* g = dy + (slots[j] / K) * D;
      const float* y = tape.expert_out[e].data() + j * D;
      double dw = 0.0;
      for (int64_t d = 0; d < D; ++d) {
        drows[j * D + d] = w * g[d];
        dw += static_cast<double>(g[d]) * y[d];
      }
      dweights[slots[j]] = static_cast<float>(dw);
    }
    feed_forward_backward(p.experts[e], tape.experts[e], drows.data(), dinput.data());
    for (int64_t j = 0; j < n; ++j) {
      float* out = dx + (slots[j] / K) * D;
      for (int64_t d = 0; d < D; ++d) out[d] += dinput[j * D + d];
    }
  }

  // Combine weights -> affinities -> router logits.
  std::vector<float> dlogits(static_cast<std::size_t>(N * E), 0.0f);
  const double scale = config.routed_scaling_factor;
  std::vector<double> ds(E);
  for (int64_t s = 0; s < spans.count(); ++s) {
    const int64_t T = spans.length(s);
    for (int64_t t = spans.begin(s); t < spans.begin(s) + T; ++t) {
      const float* a = tape.affinity.data() + t * E;
      const int32_t* ids = tape.ids.data() + t * K;
      const float* dw = dweights.data() + t * K;
      std::fill(ds.begin(), ds.end(), 0.0);
      if (config.norm_topk_prob) {  // w_k = scale s_k / S, S = sum of the selected s (+1e-20)
        double S = 1e-20, weighted = 0.0;
        for (int k = 0; k < K; ++k) {
          S += a[ids[k]];
          weighted += static_cast<double>(dw[k]) * a[ids[k]];
        }
        for (int k = 0; k < K; ++k) ds[ids[k]] += scale * (dw[k] / S - weighted / (S * S));
      } else {
        for (int k = 0; k < K; ++k) ds[ids[k]] += scale * dw[k];
      }
      if (balance_grad_scale != 0.0) {  // P_i = mean_t s_i / sum_j s_j
        const double total = std::accumulate(a, a + E, 0.0);
        double dot = 0.0;
        std::vector<double> dnormed(E);
        for (int e = 0; e < E; ++e) {
          dnormed[e] = balance_grad_scale * balance_alpha * tape.balance_f[s][e] / T;
          dot += dnormed[e] * a[e] / total;
        }
        for (int e = 0; e < E; ++e) ds[e] += (dnormed[e] - dot) / total;
      }
      float* dz = dlogits.data() + t * E;
      if (config.scoring_func == ScoringFunc::Sigmoid) {
        for (int e = 0; e < E; ++e) dz[e] = static_cast<float>(ds[e] * a[e] * (1.0 - a[e]));
      } else {
        double dot = 0.0;
        for (int e = 0; e < E; ++e) dot += ds[e] * a[e];
        for (int e = 0; e < E; ++e) dz[e] = static_cast<float>(a[e] * (ds[e] - dot));
      }
    }
  }
  accumulate_xtw(dlogits.data(), tape.input.data(), p.router->grad.data(), N, E, D);
  matmul_xw(dlogits.data(), p.router->value.data(), dx, N, E, D, /*accumulate=*/true);
}

}  // namespace frugal
