#include "frugal/train/adamw.h"

#include <cmath>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/io/safetensors.h"

namespace frugal {

AdamW::AdamW(ParameterStore& store, const AdamWOptions& options) : store_(store), options_(options) {
  for (const Parameter& p : store.all()) {
    m_.emplace_back(p.trainable() ? p.value.size() : 0, 0.0f);
    v_.emplace_back(p.trainable() ? p.value.size() : 0, 0.0f);
  }
}

bool AdamW::decays(const Parameter& p) const {
  return p.trainable() && (options_.decay == DecayRule::All || p.shape.size() == 2);
}

void AdamW::step(double lr) {
  ++step_;
  const float b1 = static_cast<float>(options_.beta1), b2 = static_cast<float>(options_.beta2);
  const float inv_bias1 = static_cast<float>(1.0 / (1.0 - std::pow(options_.beta1, static_cast<double>(step_))));
  const float inv_sqrt_bias2 =
      static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, static_cast<double>(step_))));
  const float eps = static_cast<float>(options_.eps), rate = static_cast<float>(lr);
  std::vector<Parameter>& params = store_.all();
  for (std::size_t i = 0; i < params.size(); ++i) {
    Parameter& p = params[i];
    if (!p.trainable()) continue;
    const float shrink = decays(p) ? static_cast<float>(1.0 - lr * options_.weight_decay) : 1.0f;
    float* __restrict m = m_[i].data();
    float* __restrict v = v_[i].data();
    float* __restrict value = p.value.data();
    const float* __restrict grad = p.grad.data();
    ThreadPool::global().parallel_for(p.value.size(), [&](std::size_t begin, std::size_t end) {
      for (std::size_t j = begin; j < end; ++j) {  // float throughout so that it vectorises
        const float g = grad[j];
        m[j] = b1 * m[j] + (1.0f - b1) * g;
        v[j] = b2 * v[j] + (1.0f - b2) * g * g;
        value[j] = value[j] * shrink - rate * (m[j] * inv_bias1) / (std::sqrt(v[j]) * inv_sqrt_bias2 + eps);
      }
    });
  }
}

void AdamW::save_state(const std::string& path) const {
  std::vector<TensorToWrite> tensors;
  std::vector<std::string> names;
  const std::vector<Parameter>& params = store_.all();
  names.reserve(2 * params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!params[i].trainable()) continue;
    names.push_back("adamw.m." + params[i].name);
    tensors.push_back({names.back(), DType::F32, params[i].shape, m_[i].data()});
    names.push_back("adamw.v." + params[i].name);
    tensors.push_back({names.back(), DType::F32, params[i].shape, v_[i].data()});
  }
  const float step = static_cast<float>(step_);  // exact up to 2^24 steps
  tensors.push_back({"adamw.step", DType::F32, {1}, &step});
  write_safetensors(path, tensors, {{"format", "frugal-adamw"}});
}

void AdamW::load_state(const std::string& path) {
  const SafetensorsFile file(path);
  const std::vector<Parameter>& params = store_.all();
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!params[i].trainable()) continue;
    for (const char* moment : {"m", "v"}) {
      const TensorView& view = file.get(std::string("adamw.") + moment + "." + params[i].name);
      if (view.dtype != DType::F32 || view.shape != params[i].shape)
        fail(path, ": tensor '", view.name, "' is ", dtype_name(view.dtype), " ", view.shape_string(),
             ", expected F32 ", shape_string(params[i].shape));
      (moment[0] == 'm' ? m_[i] : v_[i]) = view.to_f32();
    }
  }
  const std::vector<float> step = file.get("adamw.step").to_f32();
  if (step.size() != 1 || step[0] < 0 || step[0] != std::floor(step[0]))
    fail(path, ": adamw.step must hold one non-negative whole number");
  step_ = static_cast<int64_t>(step[0]);
}

double clip_gradient_norm(ParameterStore& store, double max_norm) {
  double sum_squares = 0.0;
  for (const Parameter& p : store.all())
    for (float g : p.grad) sum_squares += static_cast<double>(g) * g;
  const double norm = std::sqrt(sum_squares);
  if (max_norm > 0.0 && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (Parameter& p : store.all())
      for (float& g : p.grad) g *= scale;
  }
  return norm;
}

}  // namespace frugal
