// Finite-difference checks of every backward pass on random small shapes,
// independent of the goldens. Each check builds a scalar L = sum(out * R)
// for a fixed random R, then compares the analytic gradient of sampled
// elements of every input and weight with a central difference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include <nlohmann/json.hpp>

#include "frugal/io/safetensors.h"
#include "frugal/model/init.h"
#include "frugal/train/attention.h"
#include "frugal/train/token_log_probs.h"
#include "frugal/train/feed_forward.h"
#include "frugal/train/mixture.h"
#include "frugal/train/norm.h"
#include "frugal/train/trainable_model.h"
#include "support/test_support.h"

namespace frugal {
namespace {

std::vector<float> random_values(std::size_t n, float scale, uint32_t seed) {
  return test::normal_values(n, seed, scale);
}

Parameter make_param(const std::string& name, std::vector<int64_t> shape, float scale, uint32_t seed) {
  Parameter p;
  p.name = name;
  p.shape = shape;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  p.value = random_values(static_cast<std::size_t>(n), scale, seed);
  p.grad.assign(p.value.size(), 0.0f);
  return p;
}

double weighted_sum(const std::vector<float>& out, const std::vector<float>& r) {
  double s = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) s += static_cast<double>(out[i]) * r[i];
  return s;
}

// Compares analytic[i] with (L(v_i + h) - L(v_i - h)) / 2h for up to 16
// sampled elements; the error allowed is 1% of the tensor's largest gradient
// (plus 1e-4 absolute), far below what a wrong or missing term produces.
void expect_gradient(const std::string& what, std::vector<float>& values, const std::vector<float>& analytic,
                     const std::function<double()>& loss, float h = 1e-3f) {
  ASSERT_EQ(values.size(), analytic.size()) << what;
  float scale = 0.0f;
  for (float g : analytic) scale = std::max(scale, std::fabs(g));
  ASSERT_GT(scale, 0.0f) << what << ": gradient is all zero";
  std::mt19937 rng(7);
  const std::size_t samples = std::min<std::size_t>(16, values.size());
  for (std::size_t s = 0; s < samples; ++s) {
    const std::size_t i = values.size() <= 16 ? s : rng() % values.size();
    const float saved = values[i];
    values[i] = saved + h;
    const double plus = loss();
    values[i] = saved - h;
    const double minus = loss();
    values[i] = saved;
    const double numeric = (plus - minus) / (2.0 * h);
    EXPECT_NEAR(analytic[i], numeric, 1e-2 * scale + 1e-4) << what << " element " << i;
  }
}

nlohmann::json small_config_json(const std::function<void(nlohmann::json&)>& edit = {}) {
  nlohmann::json c = preset_config("tiny");
  c["hidden_size"] = 16;
  c["num_attention_heads"] = 2;
  c["q_lora_rank"] = 8;
  c["kv_lora_rank"] = 8;
  c["qk_nope_head_dim"] = 4;
  c["qk_rope_head_dim"] = 4;
  c["v_head_dim"] = 6;
  c["intermediate_size"] = 12;
  c["moe_intermediate_size"] = 6;
  c["n_routed_experts"] = 8;
  c["num_experts_per_tok"] = 2;
  c["n_group"] = 4;
  c["topk_group"] = 2;
  c["vocab_size"] = 40;
  c["num_hidden_layers"] = 2;
  c["rope_scaling"]["original_max_position_embeddings"] = 4;  // YaRN active at these lengths
  if (edit) edit(c);
  return c;
}

Config small_config(const std::function<void(nlohmann::json&)>& edit = {}) {
  return parse_config(small_config_json(edit).dump(), "test config");
}

TEST(GradientCheck, RmsNorm) {
  const int64_t rows = 3, dim = 8;
  std::vector<float> x = random_values(rows * dim, 1.0f, 1), w = random_values(dim, 1.0f, 2);
  const std::vector<float> r = random_values(rows * dim, 1.0f, 3);
  auto forward = [&] {
    std::vector<float> out(x.size());
    NormTape tape;
    rms_norm_forward(x.data(), w.data(), rows, dim, 1e-6f, out.data(), tape);
    return weighted_sum(out, r);
  };
  std::vector<float> out(x.size()), dx(x.size()), dw(dim, 0.0f);
  NormTape tape;
  rms_norm_forward(x.data(), w.data(), rows, dim, 1e-6f, out.data(), tape);
  rms_norm_backward(r.data(), w.data(), tape, dim, dx.data(), dw.data());
  expect_gradient("x", x, dx, forward);
  expect_gradient("weight", w, dw, forward);
}

TEST(GradientCheck, SwiGluFeedForward) {
  const int64_t rows = 5, D = 6, I = 7;
  Parameter gate = make_param("gate", {I, D}, 0.5f, 1), up = make_param("up", {I, D}, 0.5f, 2),
            down = make_param("down", {D, I}, 0.5f, 3);
  const FeedForwardParams p{&gate, &up, &down};
  std::vector<float> x = random_values(rows * D, 1.0f, 4);
  const std::vector<float> r = random_values(rows * D, 1.0f, 5);
  auto forward = [&] {
    std::vector<float> out(x.size());
    FeedForwardTape tape;
    feed_forward_forward(p, x.data(), rows, out.data(), tape);
    return weighted_sum(out, r);
  };
  std::vector<float> out(x.size()), dx(x.size());
  FeedForwardTape tape;
  feed_forward_forward(p, x.data(), rows, out.data(), tape);
  feed_forward_backward(p, tape, r.data(), dx.data());
  expect_gradient("x", x, dx, forward);
  expect_gradient("gate", gate.value, gate.grad, forward);
  expect_gradient("up", up.value, up.grad, forward);
  expect_gradient("down", down.value, down.grad, forward);
}

// Each row's selected experts, sorted: the order inside a row does not change the output.
std::vector<int32_t> expert_sets(std::vector<int32_t> ids, const Config& config) {
  const int K = config.num_experts_per_tok;
  for (std::size_t row = 0; row < ids.size(); row += K) std::sort(ids.begin() + row, ids.begin() + row + K);
  return ids;
}

// Routed and shared experts, router gradients through the combine weights and
// the balance loss (with a large alpha so its gradient is visible).
void check_mixture(const Config& config, bool with_bias) {
  const int64_t D = config.hidden_size, E = config.n_routed_experts, I = config.moe_intermediate_size;
  const SequenceSpans spans = SequenceSpans::from_lengths({5, 3});
  std::vector<Parameter> owned;
  owned.reserve(3 * E + 5);
  MixtureParams p;
  owned.push_back(make_param("router", {E, D}, 0.8f, 11));
  p.router = &owned.back();
  if (with_bias) {
    owned.push_back(make_param("bias", {E}, 0.05f, 12));
    owned.back().role = TensorRole::CorrectionBias;
    owned.back().grad.clear();
    p.bias = &owned.back();
  }
  for (int64_t e = 0; e < E; ++e) {
    owned.push_back(make_param("g", {I, D}, 0.5f, 100 + 3 * e));
    owned.push_back(make_param("u", {I, D}, 0.5f, 101 + 3 * e));
    owned.push_back(make_param("d", {D, I}, 0.5f, 102 + 3 * e));
    p.experts.push_back({&owned[owned.size() - 3], &owned[owned.size() - 2], &owned.back()});
  }
  owned.push_back(make_param("sg", {I, D}, 0.5f, 13));
  owned.push_back(make_param("su", {I, D}, 0.5f, 14));
  owned.push_back(make_param("sd", {D, I}, 0.5f, 15));
  p.shared = FeedForwardParams{&owned[owned.size() - 3], &owned[owned.size() - 2], &owned.back()};

  const double alpha = 0.5, balance_scale = 1.0 / spans.count();
  std::vector<float> x = random_values(spans.rows() * D, 1.0f, 16);
  const std::vector<float> r = random_values(x.size(), 1.0f, 17);
  MixtureTape reference;
  std::vector<float> out(x.size());
  mixture_forward(config, p, x.data(), spans, alpha, out.data(), reference);
  auto forward = [&] {
    std::vector<float> y(x.size());
    MixtureTape tape;
    const double balance = mixture_forward(config, p, x.data(), spans, alpha, y.data(), tape);
    EXPECT_EQ(expert_sets(tape.ids, config), expert_sets(reference.ids, config))
        << "a perturbation changed the routing; pick another seed";
    return weighted_sum(y, r) + balance_scale * balance;
  };
  std::vector<float> dx(x.size());
  mixture_backward(config, p, reference, spans, alpha, balance_scale, r.data(), dx.data());
  expect_gradient("x", x, dx, forward);
  expect_gradient("router", p.router->value, p.router->grad, forward);
  for (int64_t e = 0; e < E; ++e) {
    if (reference.slots[e].empty()) continue;
    expect_gradient("expert " + std::to_string(e) + " down", p.experts[e].down->value, p.experts[e].down->grad, forward);
    expect_gradient("expert " + std::to_string(e) + " gate", p.experts[e].gate->value, p.experts[e].gate->grad, forward);
  }
  expect_gradient("shared up", p.shared->up->value, p.shared->up->grad, forward);
}

TEST(GradientCheck, MixtureSigmoidGroupLimitedNormalised) { check_mixture(small_config(), true); }

TEST(GradientCheck, MixtureSoftmaxGreedyScaled) {
  check_mixture(small_config([](nlohmann::json& c) {
                  c["scoring_func"] = "softmax";
                  c["topk_method"] = "greedy";
                  c["n_group"] = 1;
                  c["topk_group"] = 1;
                  c["norm_topk_prob"] = false;
                  c["routed_scaling_factor"] = 1.5;
                }),
                false);
}

void check_attention(const Config& config) {
  const int64_t D = config.hidden_size, H = config.num_attention_heads;
  const int64_t dn = config.qk_nope_head_dim, dr = config.qk_rope_head_dim, dv = config.v_head_dim;
  const int64_t r = config.kv_lora_rank, rq = config.q_lora_rank;
  std::vector<Parameter> owned;
  owned.reserve(8);
  auto add = [&](std::vector<int64_t> shape, float scale, bool norm = false) {
    owned.push_back(make_param("w", shape, scale, 30 + static_cast<uint32_t>(owned.size())));
    if (norm)
      for (float& v : owned.back().value) v = 1.0f + 0.3f * v;
    return &owned.back();
  };
  AttentionParams p;
  if (rq > 0) {
    p.q_a = add({rq, D}, 0.4f);
    p.q_a_norm = add({rq}, 1.0f, true);
    p.q_b = add({H * (dn + dr), rq}, 0.4f);
  } else {
    p.q = add({H * (dn + dr), D}, 0.4f);
  }
  p.kv_a = add({r + dr, D}, 0.4f);
  p.kv_a_norm = add({r}, 1.0f, true);
  p.kv_b = add({H * (dn + dv), r}, 0.4f);
  p.o = add({D, H * dv}, 0.4f);

  const Attention attention(config);
  const SequenceSpans spans = SequenceSpans::from_lengths({6, 4});
  std::vector<float> x = random_values(spans.rows() * D, 1.0f, 21);
  const std::vector<float> rr = random_values(x.size(), 1.0f, 22);
  auto forward = [&] {
    std::vector<float> out(x.size());
    AttentionTape tape;
    attention.forward(p, x.data(), spans, out.data(), tape);
    return weighted_sum(out, rr);
  };
  std::vector<float> out(x.size()), dx(x.size());
  AttentionTape tape;
  attention.forward(p, x.data(), spans, out.data(), tape);
  attention.backward(p, tape, spans, rr.data(), dx.data());
  expect_gradient("x", x, dx, forward);
  for (Parameter& w : owned) expect_gradient("attention weight " + shape_string(w.shape), w.value, w.grad, forward);
}

TEST(GradientCheck, AttentionWithQueryLoraAndYarn) { check_attention(small_config()); }

TEST(GradientCheck, AttentionWithoutQueryLora) {
  check_attention(small_config([](nlohmann::json& c) {
    c["q_lora_rank"] = nullptr;
    c.erase("rope_scaling");
  }));
}

TEST(GradientCheck, TargetLogProbs) {
  const int64_t rows = 4, vocab = 9;
  std::vector<float> logits = random_values(rows * vocab, 2.0f, 41);
  const std::vector<int32_t> targets = {3, -1, 0, 8};
  const std::vector<float> coefficients = {0.7f, 5.0f, -1.3f, 0.4f};  // L = sum_r c_r log p_r
  auto loss = [&] {
    std::vector<float> probs = logits, log_probs(rows);
    softmax_and_target_log_probs(probs.data(), targets.data(), rows, vocab, log_probs.data());
    double l = 0.0;
    for (int64_t r = 0; r < rows; ++r) l += coefficients[r] * log_probs[r];
    return l;
  };
  std::vector<float> grad = logits, log_probs(rows);
  softmax_and_target_log_probs(grad.data(), targets.data(), rows, vocab, log_probs.data());
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0.0;
    for (int64_t v = 0; v < vocab; ++v) sum += grad[r * vocab + v];
    EXPECT_NEAR(sum, 1.0, 1e-5);  // probabilities
  }
  EXPECT_EQ(log_probs[1], 0.0f);  // no target
  EXPECT_LT(log_probs[0], 0.0f);
  log_prob_gradient_in_place(grad.data(), targets.data(), coefficients.data(), rows, vocab);
  for (int64_t v = 0; v < vocab; ++v) EXPECT_EQ(grad[1 * vocab + v], 0.0f);
  expect_gradient("logits", logits, grad, loss);
}

// The whole model with MTP and the balance loss in the total: embedding,
// head, MTP projections and norms, a dense and a MoE layer.
TEST(GradientCheck, WholeModelTotalLossWithBalance) {
  const nlohmann::json c = small_config_json();
  const std::string dir = test::make_temp_dir();
  InitOptions init;
  init.dtype = DType::F32;
  init.init_std = 0.3;
  init.seed = 5;
  write_random_checkpoint(c, dir, init);
  ParameterStore store = ParameterStore::load(dir);
  for (Parameter& p : store.all())  // norms away from 1 so their gradients are not degenerate
    if (p.role == TensorRole::Norm)
      for (std::size_t i = 0; i < p.value.size(); ++i) p.value[i] = 1.0f + 0.1f * std::sin(1.0f + i);
  TrainableModel model(store);
  const std::vector<std::vector<int32_t>> batch = {{1, 5, 9, 13, 2, 7}, {3, 30, 22, 11}};
  LossOptions options;
  options.balance_alpha = 0.05;
  const StepLosses reference = model.forward_backward(batch, options);
  EXPECT_GT(reference.balance, 0.0);
  auto loss = [&] { return model.evaluate(batch, options).total; };
  for (const char* name : {"model.embed_tokens.weight", "lm_head.weight", "model.layers.0.mlp.up_proj.weight",
                           "model.layers.1.mlp.gate.weight", "model.layers.1.self_attn.kv_b_proj.weight",
                           "model.layers.2.eh_proj.weight", "model.layers.2.hnorm.weight",
                           "model.layers.2.enorm.weight", "model.layers.2.shared_head.norm.weight",
                           "model.norm.weight", "model.layers.0.input_layernorm.weight"}) {
    Parameter& p = store.get(name);
    expect_gradient(name, p.value, p.grad, loss, 2e-3f);
  }
}

}  // namespace
}  // namespace frugal
