#include "frugal/model/streamed_experts.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/kernels/ops.h"

namespace frugal {
namespace {

// Job j's row steps [first[j], first[j + 1]) in one index space.
std::vector<int64_t> step_offsets(std::span<const ExpertJob> jobs) {
  std::vector<int64_t> first(jobs.size() + 1, 0);
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const WeightMatrix& gate = jobs[j].weights->gate;
    const int64_t step = linear_row_step(gate);
    if (linear_row_step(jobs[j].weights->up) != step)
      fail("streamed experts: ", gate.name, " and its up projection split rows differently");
    first[j + 1] = first[j] + (gate.rows + step - 1) / step;
  }
  return first;
}

}  // namespace

void streamed_experts_forward(std::span<const ExpertJob> jobs, int64_t n, int64_t D, float* out) {
  ThreadPool& pool = ThreadPool::global();
  const std::vector<int64_t> first = step_offsets(jobs);
  std::vector<std::vector<float>> hidden(jobs.size()), up(jobs.size()), outputs(jobs.size());
  std::size_t step_work = 0;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto size = static_cast<std::size_t>(jobs[j].in->n * jobs[j].weights->gate.rows);
    hidden[j].resize(size);
    up[j].resize(size);
    outputs[j].resize(static_cast<std::size_t>(jobs[j].in->n * D));
    step_work = std::max(step_work, 2 * linear_step_work(jobs[j].weights->gate, jobs[j].in->n));
  }

  // Pass 1: hidden = silu(x Wg^T) * (x Wu^T), rows of every job split as one.
  const auto pass1_steps = static_cast<std::size_t>(first.back());
  pool.parallel_for_balanced(pass1_steps, step_work, [&](std::size_t begin, std::size_t end) {
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      const auto s0 = std::max(static_cast<int64_t>(begin), first[j]);
      const auto s1 = std::min(static_cast<int64_t>(end), first[j + 1]);
      if (s0 >= s1) continue;
      const SwiGluWeights& w = *jobs[j].weights;
      const int64_t step = linear_row_step(w.gate), width = w.gate.rows;
      const int64_t r0 = (s0 - first[j]) * step, r1 = std::min(width, (s1 - first[j]) * step);
      linear_rows(*jobs[j].in, w.gate, r0, r1, hidden[j].data());
      linear_rows(*jobs[j].in, w.up, r0, r1, up[j].data());
      for (int64_t t = 0; t < jobs[j].in->n; ++t)
        silu_mul(hidden[j].data() + t * width + r0, up[j].data() + t * width + r0, r1 - r0);
    }
  });

  std::vector<LinearInputs> hidden_in(jobs.size());
  int64_t out_step = 1;
  std::size_t out_work = 0;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const WeightMatrix& down = jobs[j].weights->down;
    if (down.rows != D) fail("streamed experts: ", down.name, " has ", down.rows, " rows, not ", D);
    prepare_linear_inputs(hidden[j].data(), jobs[j].in->n, down.cols, {&down}, hidden_in[j]);
    out_step = std::max(out_step, linear_row_step(down));  // 1 or 16: a multiple of every job's
    out_work += linear_step_work(down, jobs[j].in->n);
  }

  // Pass 2: each thread's output rows, summed over the jobs in order.
  const auto out_steps = static_cast<std::size_t>((D + out_step - 1) / out_step);
  pool.parallel_for_balanced(out_steps, out_work, [&](std::size_t begin, std::size_t end) {
    const int64_t r0 = static_cast<int64_t>(begin) * out_step, r1 = std::min(D, static_cast<int64_t>(end) * out_step);
    for (int64_t t = 0; t < n; ++t) std::fill(out + t * D + r0, out + t * D + r1, 0.0f);
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      linear_rows(hidden_in[j], jobs[j].weights->down, r0, r1, outputs[j].data());
      const auto& tokens = *jobs[j].tokens;
      for (std::size_t i = 0; i < tokens.size(); ++i)
        axpy(tokens[i].second, outputs[j].data() + static_cast<int64_t>(i) * D + r0, out + tokens[i].first * D + r0,
             r1 - r0);
    }
  });
}

}  // namespace frugal
