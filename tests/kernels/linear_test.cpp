// linear() and linear_transposed() against a plain double-precision loop over
// the exactly decoded weights, for every stored format, including FP8 with
// partial edge blocks and row slices, on one and several threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "frugal/core/dtype.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/kernels/linear.h"
#include "frugal/kernels/panel_product.h"
#include "frugal/kernels/q4.h"
#include "frugal/kernels/q8.h"

namespace frugal {
namespace {

struct StoredMatrix {
  std::vector<uint8_t> bytes;
  std::vector<double> exact;  // the decoded value of every element
  WeightMatrix weight;
};

// A random matrix in `dtype`; FP8 gets 3x5 blocks so the edges are partial.
StoredMatrix make_matrix(DType dtype, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  StoredMatrix m;
  m.bytes.resize(static_cast<std::size_t>(rows * cols) * dtype_size(dtype));
  m.exact.resize(static_cast<std::size_t>(rows * cols));
  auto scales = std::make_shared<std::vector<float>>();
  const int block_rows = 3, block_cols = 5;
  const int64_t scale_cols = (cols + block_cols - 1) / block_cols;
  if (dtype == DType::F8_E4M3)
    for (int64_t i = 0; i < ((rows + block_rows - 1) / block_rows) * scale_cols; ++i)
      scales->push_back(std::ldexp(1.0f + uniform(rng) * 0.5f, -4));
  for (int64_t i = 0; i < rows * cols; ++i) {
    const float value = uniform(rng);
    switch (dtype) {
      case DType::F32:
        std::memcpy(&m.bytes[4 * i], &value, 4);
        m.exact[i] = value;
        break;
      case DType::BF16: {
        const uint16_t bits = f32_to_bf16(value);
        std::memcpy(&m.bytes[2 * i], &bits, 2);
        m.exact[i] = bf16_to_f32(bits);
        break;
      }
      case DType::F16: {
        const auto bits = static_cast<uint16_t>(0x3000 + (rng() % 0x1000) + ((rng() & 1) << 15));
        std::memcpy(&m.bytes[2 * i], &bits, 2);
        m.exact[i] = f16_to_f32(bits);
        break;
      }
      case DType::F8_E4M3: {
        uint8_t code = static_cast<uint8_t>(rng());
        if ((code & 0x7F) == 0x7F) code = 0x3C;  // not NaN
        m.bytes[i] = code;
        const int64_t r = i / cols, c = i % cols;
        m.exact[i] = static_cast<double>(fp8_e4m3_to_f32(code)) *
                     (*scales)[(r / block_rows) * scale_cols + c / block_cols];
        break;
      }
      default:
        ADD_FAILURE() << "unsupported dtype in test";
    }
  }
  m.weight.name = "test";
  m.weight.dtype = dtype;
  m.weight.rows = rows;
  m.weight.cols = cols;
  m.weight.data = m.bytes.data();
  if (dtype == DType::F8_E4M3) {
    m.weight.scales = scales;
    m.weight.block_rows = block_rows;
    m.weight.block_cols = block_cols;
    m.weight.scale_cols = scale_cols;
  }
  return m;
}

std::vector<float> random_vector(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(rng);
  return v;
}

class LinearTest : public testing::TestWithParam<DType> {};

TEST_P(LinearTest, MatchesDoublePrecisionReference) {
  const int64_t rows = 37, cols = 53, n = 5;
  const StoredMatrix m = make_matrix(GetParam(), rows, cols, 7);
  const std::vector<float> x = random_vector(n * cols, 11);
  WeightMatrix packed = m.weight;  // float32 also through its decode panels
  attach_panels(packed);
  EXPECT_EQ(packed.panels != nullptr, GetParam() == DType::F32);
  for (const WeightMatrix* weight : {&m.weight, static_cast<const WeightMatrix*>(&packed)}) {
    for (int threads : {1, 3}) {
      ThreadPool::set_global_threads(threads);
      std::vector<float> y(n * rows);
      linear(x.data(), n, *weight, y.data());
      for (int64_t t = 0; t < n; ++t)
        for (int64_t r = 0; r < rows; ++r) {
          double want = 0.0;
          for (int64_t c = 0; c < cols; ++c) want += static_cast<double>(x[t * cols + c]) * m.exact[r * cols + c];
          EXPECT_NEAR(y[t * rows + r], want, 1e-5 * (1.0 + std::fabs(want)))
              << "t " << t << " r " << r << (weight->panels ? " (panels)" : "");
        }
    }
  }
  ThreadPool::set_global_threads(2);
}

TEST_P(LinearTest, RowSlicesKeepTheirBlockScales) {
  const int64_t rows = 20, cols = 12;
  const StoredMatrix m = make_matrix(GetParam(), rows, cols, 3);
  const WeightMatrix slice = m.weight.row_slice(7, 9);  // starts inside an FP8 block
  const std::vector<float> x = random_vector(9, 5);
  std::vector<float> y(cols);
  linear_transposed(x.data(), slice, y.data());
  for (int64_t c = 0; c < cols; ++c) {
    double want = 0.0;
    for (int64_t r = 0; r < 9; ++r) want += static_cast<double>(x[r]) * m.exact[(7 + r) * cols + c];
    EXPECT_NEAR(y[c], want, 1e-5 * (1.0 + std::fabs(want))) << "c " << c;
  }
  for (int64_t r = 0; r < 9; ++r)
    EXPECT_FLOAT_EQ(slice.element(r, 4), static_cast<float>(m.exact[(7 + r) * cols + 4]));
}

INSTANTIATE_TEST_SUITE_P(AllFormats, LinearTest,
                         testing::Values(DType::F32, DType::BF16, DType::F16, DType::F8_E4M3),
                         [](const testing::TestParamInfo<DType>& info) {
                           return std::string(dtype_name(info.param));
                         });

// Inputs prepared once for several formats give each product what it gets
// from its own preparation; row ranges give the rows of the whole; gathered
// rows equal rows prepared alone.
TEST(LinearInputsTest, SharedPreparationRangesAndGathersMatchSeparateProducts) {
  const int64_t rows = 48, cols = 64, n = 3;
  const StoredMatrix f32 = make_matrix(DType::F32, rows, cols, 21);
  const std::vector<WeightMatrix> weights = {f32.weight, to_q8(f32.weight, true), to_q8(f32.weight, false),
                                             to_q4(f32.weight, true), to_q4(f32.weight, false)};
  ASSERT_GT(weights[1].interleaved_rows, 0);
  ASSERT_EQ(weights[2].interleaved_rows, 0);
  const std::vector<float> x = random_vector(n * cols, 23);
  std::vector<const WeightMatrix*> readers;
  for (const WeightMatrix& w : weights) readers.push_back(&w);
  LinearInputs shared;
  prepare_linear_inputs(x.data(), n, cols, readers, shared);
  const std::vector<int64_t> picked = {2, 0};
  LinearInputs gathered;
  gather_linear_inputs(shared, picked, gathered);
  std::vector<float> picked_x;
  for (int64_t t : picked) picked_x.insert(picked_x.end(), x.begin() + t * cols, x.begin() + (t + 1) * cols);
  for (const WeightMatrix& w : weights) {
    SCOPED_TRACE(std::string(dtype_name(w.dtype)) + (w.interleaved_rows > 0 ? " interleaved" : " row-major"));
    std::vector<float> alone(n * rows), together(n * rows), by_ranges(n * rows);
    linear(x.data(), n, w, alone.data());
    linear(shared, w, together.data());
    const int64_t step = linear_row_step(w);
    for (int64_t r = 0; r < rows; r += 2 * step) linear_rows(shared, w, r, std::min(rows, r + 2 * step), by_ranges.data());
    for (int64_t i = 0; i < n * rows; ++i) {
      ASSERT_EQ(together[i], alone[i]) << "at " << i;
      ASSERT_EQ(by_ranges[i], alone[i]) << "at " << i;
    }
    std::vector<float> picked_alone(picked.size() * rows), picked_gathered(picked.size() * rows);
    linear(picked_x.data(), static_cast<int64_t>(picked.size()), w, picked_alone.data());
    linear(gathered, w, picked_gathered.data());
    for (std::size_t i = 0; i < picked_alone.size(); ++i) ASSERT_EQ(picked_gathered[i], picked_alone[i]) << "at " << i;
  }
  // Inputs prepared for Q8 alone lack Q4's offsets: a clear error, not garbage.
  LinearInputs q8_only;
  prepare_linear_inputs(x.data(), n, cols, {&weights[1]}, q8_only);
  std::vector<float> y(n * rows);
  EXPECT_THROW(linear(q8_only, weights[4], y.data()), Error);
  EXPECT_THROW(prepare_linear_inputs(x.data(), n, cols - 32, {&weights[1]}, q8_only), Error);
  // Gathered for Q8 only, the floats are not copied: a float product says so.
  LinearInputs q8_gathered;
  gather_linear_inputs(q8_only, picked, q8_gathered);
  EXPECT_TRUE(q8_gathered.gathered.empty());
  EXPECT_THROW(linear(q8_gathered, weights[0], y.data()), Error);
  linear(q8_gathered, weights[1], y.data());
  std::vector<float> want(picked.size() * rows);
  linear(picked_x.data(), static_cast<int64_t>(picked.size()), weights[1], want.data());
  for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(y[i], want[i]) << "at " << i;
}

TEST(ThreadPoolTest, CoversEveryIndexExactlyOnce) {
  ThreadPool pool(3);
  for (std::size_t count : {1u, 2u, 3u, 7u, 1000u}) {
    std::vector<int> hits(count, 0);
    pool.parallel_for(count, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) hits[i]++;
    });
    for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(hits[i], 1) << "count " << count << " index " << i;
  }
}

TEST(ThreadPoolTest, NestedCallsRunOnTheCaller) {
  ThreadPool pool(2);
  std::vector<int> hits(16, 0);
  pool.parallel_for(4, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      pool.parallel_for(4, [&](std::size_t b, std::size_t e) {
        for (std::size_t j = b; j < e; ++j) hits[i * 4 + j]++;
      });
  });
  for (int h : hits) EXPECT_EQ(h, 1);
}

TEST(ThreadPoolTest, RejectsZeroThreads) { EXPECT_THROW(ThreadPool(0), Error); }

TEST(ThreadPoolTest, AChunksExceptionReachesTheCallerAfterTheOthersFinish) {
  // Decode batches sample on the workers; a bad logit must be an error, not std::terminate.
  ThreadPool pool(3);
  for (std::size_t throwing_chunk : {0u, 1u, 2u}) {  // the caller's chunk, then the workers'
    std::vector<int> hits(30, 0);
    try {
      pool.parallel_for(30, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) hits[i]++;
        if (begin == throwing_chunk * 10) throw Error("chunk " + std::to_string(throwing_chunk));
      });
      ADD_FAILURE() << "no exception from chunk " << throwing_chunk;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "chunk " + std::to_string(throwing_chunk));
    }
    for (int h : hits) EXPECT_EQ(h, 1) << "every chunk ran to its end";
  }
  std::vector<int> hits(30, 0);  // and the pool still works
  pool.parallel_for(30, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) hits[i]++;
  });
  for (int h : hits) EXPECT_EQ(h, 1);
}

}  // namespace
}  // namespace frugal
