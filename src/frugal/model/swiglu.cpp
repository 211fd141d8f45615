#include "frugal/model/swiglu.h"

#include <vector>

#include "frugal/core/thread_pool.h"
#include "frugal/kernels/ops.h"

namespace frugal {

void swiglu_forward(const SwiGluWeights& weights, const LinearInputs& in, float* out) {
  const int64_t width = weights.gate.rows, n = in.n;
  std::vector<float> gate(static_cast<std::size_t>(n * width));
  std::vector<float> up(gate.size());
  linear(in, weights.gate, gate.data());
  linear(in, weights.up, up.data());
  ThreadPool::global().parallel_for(static_cast<std::size_t>(n), static_cast<std::size_t>(width),
                                    [&](std::size_t begin, std::size_t end) {
                                      const auto first = static_cast<int64_t>(begin) * width;
                                      silu_mul(gate.data() + first, up.data() + first,
                                               static_cast<int64_t>(end - begin) * width);
                                    });
  linear(gate.data(), n, weights.down, out);
}

void swiglu_forward(const SwiGluWeights& weights, const float* x, int64_t n, float* out) {
  thread_local LinearInputs in;  // reused: prefill's run to megabytes
  prepare_linear_inputs(x, n, weights.gate.cols, {&weights.gate, &weights.up}, in);
  swiglu_forward(weights, in, out);
}

}  // namespace frugal
