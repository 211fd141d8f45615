#pragma once
// A MoE layer's experts for a few tokens (decode): every selected expert's
// weights read once, in two passes over all of them instead of three
// products per expert. The first pass splits the gate and up rows of all
// experts over the threads as one stream, the second the output rows, each
// thread reading its rows of every expert's down projection in turn. That
// is two hand-offs per layer instead of three per expert, and each thread's
// reads run on across experts.
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "frugal/kernels/linear.h"
#include "frugal/model/swiglu.h"

namespace frugal {

struct ExpertJob {
  const SwiGluWeights* weights = nullptr;
  const LinearInputs* in = nullptr;  // the job's tokens' inputs, prepared for gate and up
  // (token, routing weight) for each row of `in`.
  const std::vector<std::pair<int64_t, float>>* tokens = nullptr;
};

// out[n, D] = sum over jobs, in order, of weight * SwiGLU_job(x_token).
void streamed_experts_forward(std::span<const ExpertJob> jobs, int64_t n, int64_t D, float* out);

}  // namespace frugal
