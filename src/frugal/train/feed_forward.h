#pragma once
// SwiGLU feed-forward (spec 3.1), forward and backward:
// y = (silu(x Wg^T) * (x Wu^T)) Wd^T. Used for dense layers, each routed
// expert (on the rows routed to it) and the shared experts.
#include <cstdint>
#include <vector>

#include "frugal/train/parameters.h"

namespace frugal {

struct FeedForwardParams {
  Parameter* gate = nullptr;  // [I, D]
  Parameter* up = nullptr;    // [I, D]
  Parameter* down = nullptr;  // [D, I]
  int64_t width() const { return gate->shape[0]; }
  int64_t dim() const { return gate->shape[1]; }
};

// Binds prefix + "{gate,up,down}_proj.weight".
FeedForwardParams bind_feed_forward(ParameterStore& store, const std::string& prefix);

struct FeedForwardTape {
  std::vector<float> input;   // x [rows, D]
  std::vector<float> gate;    // x Wg^T [rows, I]
  std::vector<float> up;      // x Wu^T [rows, I]
  std::vector<float> hidden;  // silu(gate) * up [rows, I]
};

// out [rows, D] = SwiGLU(x); the tape keeps what the backward pass needs.
void feed_forward_forward(const FeedForwardParams& p, const float* x, int64_t rows, float* out,
                          FeedForwardTape& tape);

// Accumulates the weight gradients; dx [rows, D] is overwritten.
void feed_forward_backward(const FeedForwardParams& p, const FeedForwardTape& tape, const float* dy, float* dx);

}  // namespace frugal
