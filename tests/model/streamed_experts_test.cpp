// streamed_experts_forward (decode's two-pass MoE) against the plain sum of
// each expert's SwiGLU, in float32, Q8 and Q4 (interleaved rows), with the
// shared expert on every token and routed experts on some, on 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "frugal/core/thread_pool.h"
#include "frugal/kernels/q4.h"
#include "frugal/kernels/q8.h"
#include "frugal/model/streamed_experts.h"

namespace frugal {
namespace {

constexpr int64_t kD = 64, kWidth = 96;

WeightMatrix random_weight(const std::string& name, int64_t rows, int64_t cols, uint32_t seed, DType format) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  std::vector<float> values(static_cast<std::size_t>(rows * cols));
  for (float& v : values) v = normal(rng);
  WeightMatrix w = make_f32_weight(name, rows, cols, std::move(values));
  if (format == DType::I8) return to_q8(w);
  if (format == DType::Q4) return to_q4(w);
  return w;
}

SwiGluWeights random_expert(int64_t width, uint32_t seed, DType format) {
  return {random_weight("gate", width, kD, seed, format), random_weight("up", width, kD, seed + 1, format),
          random_weight("down", kD, width, seed + 2, format)};
}

class StreamedExpertsTest : public testing::TestWithParam<DType> {};

TEST_P(StreamedExpertsTest, EqualsTheWeightedSumOfEachExpert) {
  const int64_t n = 3;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n * kD);
  for (float& v : x) v = normal(rng);
  const SwiGluWeights shared = random_expert(2 * kWidth, 10, GetParam());
  const std::vector<SwiGluWeights> routed = {random_expert(kWidth, 20, GetParam()),
                                             random_expert(kWidth, 30, GetParam())};
  const std::vector<std::pair<int64_t, float>> every = {{0, 1.0f}, {1, 1.0f}, {2, 1.0f}};
  const std::vector<std::vector<std::pair<int64_t, float>>> tokens = {{{0, 0.7f}, {2, 0.25f}}, {{1, 1.5f}}};

  std::vector<const WeightMatrix*> readers = {&shared.gate, &shared.up};
  for (const SwiGluWeights& e : routed) readers.insert(readers.end(), {&e.gate, &e.up});
  LinearInputs all;
  prepare_linear_inputs(x.data(), n, kD, readers, all);
  std::vector<LinearInputs> gathered(routed.size());
  std::vector<ExpertJob> jobs = {{&shared, &all, &every}};
  for (std::size_t j = 0; j < routed.size(); ++j) {
    std::vector<int64_t> rows;
    for (const auto& [t, weight] : tokens[j]) rows.push_back(t);
    gather_linear_inputs(all, rows, gathered[j]);
    jobs.push_back({&routed[j], &gathered[j], &tokens[j]});
  }

  // The reference: each expert alone over its tokens, summed in job order.
  std::vector<float> want(n * kD);
  swiglu_forward(shared, x.data(), n, want.data());
  for (std::size_t j = 0; j < routed.size(); ++j)
    for (const auto& [t, weight] : tokens[j]) {
      std::vector<float> one(kD);
      swiglu_forward(routed[j], x.data() + t * kD, 1, one.data());
      for (int64_t c = 0; c < kD; ++c) want[t * kD + c] += weight * one[c];
    }
  for (int threads : {1, 2}) {
    ThreadPool::set_global_threads(threads);
    std::vector<float> got(n * kD, -7.0f);
    streamed_experts_forward(jobs, n, kD, got.data());
    for (int64_t i = 0; i < n * kD; ++i)
      EXPECT_NEAR(got[i], want[i], 1e-5f * (1.0f + std::fabs(want[i]))) << "threads " << threads << " at " << i;
  }
  ThreadPool::set_global_threads(2);
}

INSTANTIATE_TEST_SUITE_P(Formats, StreamedExpertsTest, testing::Values(DType::F32, DType::I8, DType::Q4),
                         [](const testing::TestParamInfo<DType>& info) {
                           return std::string(dtype_name(info.param));
                         });

}  // namespace
}  // namespace frugal
