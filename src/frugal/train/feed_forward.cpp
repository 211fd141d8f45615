#include "frugal/train/feed_forward.h"

#include <cmath>

#include "frugal/train/gemm.h"

namespace frugal {
namespace {
float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }
}  // namespace

FeedForwardParams bind_feed_forward(ParameterStore& store, const std::string& prefix) {
  return {&store.get(prefix + "gate_proj.weight"), &store.get(prefix + "up_proj.weight"),
          &store.get(prefix + "down_proj.weight")};
}

void feed_forward_forward(const FeedForwardParams& p, const float* x, int64_t rows, float* out,
                          FeedForwardTape& tape) {
  const int64_t D = p.dim(), I = p.width();
  tape.input.assign(x, x + rows * D);
  tape.gate.resize(static_cast<std::size_t>(rows * I));
  tape.up.resize(tape.gate.size());
  tape.hidden.resize(tape.gate.size());
  matmul_xwt(x, p.gate->value.data(), tape.gate.data(), rows, I, D);
  matmul_xwt(x, p.up->value.data(), tape.up.data(), rows, I, D);
  for (std::size_t i = 0; i < tape.hidden.size(); ++i)
    tape.hidden[i] = tape.gate[i] * sigmoid(tape.gate[i]) * tape.up[i];
  matmul_xwt(tape.hidden.data(), p.down->value.data(), out, rows, D, I);
}

void feed_forward_backward(const FeedForwardParams& p, const FeedForwardTape& tape, const float* dy, float* dx) {
  const int64_t D = p.dim(), I = p.width();
  const int64_t rows = static_cast<int64_t>(tape.input.size()) / D;
  std::vector<float> dhidden(static_cast<std::size_t>(rows * I));
  matmul_xw(dy, p.down->value.data(), dhidden.data(), rows, D, I);
  accumulate_xtw(dy, tape.hidden.data(), p.down->grad.data(), rows, D, I);
  // hidden = silu(g) u: dg = dh u silu'(g), du = dh silu(g), reusing dhidden for dg.
  std::vector<float> dup(dhidden.size());
  for (std::size_t i = 0; i < dhidden.size(); ++i) {
    const float g = tape.gate[i], s = sigmoid(g);
    dup[i] = dhidden[i] * g * s;
    dhidden[i] *= tape.up[i] * s * (1.0f + g * (1.0f - s));
  }
  accumulate_xtw(dhidden.data(), tape.input.data(), p.gate->grad.data(), rows, I, D);
  accumulate_xtw(dup.data(), tape.input.data(), p.up->grad.data(), rows, I, D);
  matmul_xw(dhidden.data(), p.gate->value.data(), dx, rows, I, D);
  matmul_xw(dup.data(), p.up->value.data(), dx, rows, I, D, /*accumulate=*/true);
}

}  // namespace frugal
