// Micro-benchmarks of the inference kernels on one thread, at DeepSeek-V2-Lite's
// shapes: the absorbed attention over a long latent cache (float and BF16
// rows: 8 heads, one thread's share of 16; q8 tiles: 16 heads over a
// thread's share of the positions), one head's causal prefill attention
// over expanded keys and values, and the Q8 / Q4 products of one expert matrix for a
// decoded token and for prefill's token groups. Counters report multiply-adds
// per second, to set against the machine's peak (docs/performance.md).
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <random>
#include <span>
#include <vector>

#include "frugal/core/dtype.h"
#include "frugal/core/weight_arena.h"
#include "frugal/kernels/latent_attention.h"
#include "frugal/kernels/latent_attention_q8.h"
#include "frugal/kernels/prefill_attention.h"
#include "frugal/kernels/q4.h"
#include "frugal/kernels/q4_interleaved.h"
#include "frugal/kernels/weight_matrix.h"
#include "frugal/kernels/q8.h"
#include "frugal/kernels/q8_interleaved.h"

namespace frugal {
namespace {

std::vector<float> normal_values(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Arguments: positions, cache dtype (0 f32, 1 bf16).
void BM_LatentAttention(benchmark::State& state) {
  const int heads = 8;
  const int64_t positions = state.range(0), r = 512, dr = 64;
  const DType dtype = state.range(1) == 0 ? DType::F32 : DType::BF16;
  const std::vector<float> q = normal_values(heads * (r + dr), 1), rows = normal_values(positions * (r + dr), 2);
  std::vector<float> latents(positions * r), keys(positions * dr);
  for (int64_t t = 0; t < positions; ++t) {
    std::copy_n(rows.begin() + t * (r + dr), r, latents.begin() + t * r);
    std::copy_n(rows.begin() + t * (r + dr) + r, dr, keys.begin() + t * dr);
  }
  std::vector<uint16_t> latents_bf16(latents.size()), keys_bf16(keys.size());
  for (std::size_t i = 0; i < latents.size(); ++i) latents_bf16[i] = f32_to_bf16(latents[i]);
  for (std::size_t i = 0; i < keys.size(); ++i) keys_bf16[i] = f32_to_bf16(keys[i]);

  std::vector<float> scratch(heads * positions), out(heads * r);
  LatentAttentionArgs a;
  a.heads = heads;
  a.positions = positions;
  a.latent_dim = r;
  a.rope_dim = dr;
  a.scale = 0.07f;
  a.q_latent = q.data();
  a.q_rope = q.data() + heads * r;
  a.q_rope_stride = dr;
  a.rows_dtype = dtype;
  a.latents = dtype == DType::F32 ? static_cast<const void*>(latents.data()) : static_cast<const void*>(latents_bf16.data());
  a.rope_keys = dtype == DType::F32 ? static_cast<const void*>(keys.data()) : static_cast<const void*>(keys_bf16.data());
  a.scratch = scratch.data();
  a.out = out.data();
  for (auto _ : state) {
    latent_attention(a);
    benchmark::DoNotOptimize(out.data());
  }
  const double macs = static_cast<double>(heads) * positions * (r + dr + r);
  state.counters["GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LatentAttention)->ArgsProduct({{4096, 16384}, {0, 1}})->Unit(benchmark::kMillisecond);

// The int8 attention over the q8 cache: all 16 heads over one thread's
// share of the positions (decode splits positions between threads).
// Arguments: positions, layers (caches visited in turn: 8 layers of 8192
// positions, 39 MB, come from memory as in decode, not from L3).
void BM_LatentAttentionQ8(benchmark::State& state) {
  const int heads = 16, r = 512, dr = 64;
  const int64_t positions = state.range(0), layers = state.range(1);
  const LatentTileLayout layout(r, dr);
  const std::size_t layer_bytes = LatentTileLayout::tiles_for(positions) * layout.tile_bytes();
  std::vector<uint8_t> tiles(layer_bytes * layers);
  const std::vector<float> q = normal_values(heads * (r + dr), 1), rows = normal_values(positions * (r + dr), 2);
  for (int64_t layer = 0; layer < layers; ++layer)
    for (int64_t t = 0; t < positions; ++t)
      store_latent_q8(layout, tiles.data() + layer * layer_bytes + t / 16 * layout.tile_bytes(),
                      static_cast<int>(t % 16), rows.data() + t * (r + dr), rows.data() + t * (r + dr) + r);
  LatentAttentionQ8Args a;
  a.heads = heads;
  a.positions = positions;
  a.scale = 0.07f;
  a.q_latent = q.data();
  a.q_latent_stride = r;
  a.q_rope = q.data() + heads * r;
  a.q_rope_stride = dr;
  a.layout = layout;
  a.tiles = tiles.data();
  std::vector<float> out(heads * r);
  int64_t layer = 0;
  for (auto _ : state) {
    a.tiles = tiles.data() + layer * layer_bytes;
    layer = (layer + 1) % layers;
    latent_attention_q8(a, out.data(), r);
    benchmark::DoNotOptimize(out.data());
  }
  const double macs = static_cast<double>(heads) * positions * (r + dr + r);
  state.counters["GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(layer_bytes) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LatentAttentionQ8)->Args({100, 1})->Args({1024, 1})->Args({8192, 1})->Args({8192, 8})->Unit(benchmark::kMillisecond);

// One head's causal attention for a fresh prompt of `queries` tokens over
// its expanded keys and values (the naive form prefill uses), V2-Lite's
// head sizes; keys and values share rows as in the model's kv buffer.
void BM_PrefillAttention(benchmark::State& state) {
  const int64_t queries = state.range(0), dn = 128, dr = 64, dv = 128, width = dn + dv;
  const std::vector<float> q = normal_values(queries * (dn + dr), 5), kv = normal_values(queries * width, 6),
                           rope_keys = normal_values(queries * dr, 7);
  std::vector<float> out(queries * dv);
  PrefillAttentionArgs a;
  a.queries = queries;
  a.key_dim = dn;
  a.rope_dim = dr;
  a.value_dim = dv;
  a.scale = 0.07f;
  a.q_nope = q.data();
  a.q_rope = q.data() + dn;
  a.q_stride = dn + dr;
  a.keys = kv.data();
  a.key_stride = width;
  a.rope_keys = rope_keys.data();
  a.rope_stride = dr;
  a.values = kv.data() + dn;
  a.value_stride = width;
  a.out = out.data();
  a.out_stride = dv;
  for (auto _ : state) {
    prefill_attention(a);
    benchmark::DoNotOptimize(out.data());
  }
  const double pairs = static_cast<double>(queries) * (queries + 1) / 2;  // (query, position) pairs seen
  state.counters["GMAC/s"] = benchmark::Counter(pairs * (dn + dr + dv) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PrefillAttention)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond);

// One expert's up projection, 1408 x 2048, times `inputs` tokens.
void BM_Q8Product(benchmark::State& state) {
  const int64_t rows = 1408, cols = 2048, inputs = state.range(0), blocks = cols / 32;
  const std::vector<float> w = normal_values(rows * cols, 3), x = normal_values(inputs * cols, 4);
  std::vector<int8_t> wq(rows * cols), xq(inputs * cols);
  std::vector<float> ws(rows * blocks), xs(inputs * blocks), y(inputs * rows);
  quantize_q8(w.data(), rows * cols, wq.data(), ws.data());
  quantize_q8(x.data(), inputs * cols, xq.data(), xs.data());
  for (auto _ : state) {
    dot_q8_rows_inputs(wq.data(), ws.data(), blocks, rows, xq.data(), xs.data(), inputs, cols, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(rows * cols * inputs) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Q8Product)->Arg(1)->Arg(4)->Arg(48)->Arg(512)->Unit(benchmark::kMicrosecond);

// The same product with 8 rows interleaved (q8_interleaved.h).
void BM_Q8InterleavedProduct(benchmark::State& state) {
  const int64_t rows = 1408, cols = 2048, inputs = state.range(0), blocks = cols / 32;
  const std::vector<float> w = normal_values(rows * cols, 3), x = normal_values(inputs * cols, 4);
  std::vector<int8_t> wq(rows * cols), xq(inputs * cols);
  std::vector<uint8_t> packed(rows * cols);
  std::vector<float> ws(rows * blocks), packed_scales(rows * blocks), xs(inputs * blocks), y(inputs * rows);
  std::vector<int32_t> sums(inputs * blocks);
  quantize_q8(w.data(), rows * cols, wq.data(), ws.data());
  interleave_q8_rows(wq.data(), ws.data(), rows, cols, packed.data(), packed_scales.data());
  quantize_q8(x.data(), inputs * cols, xq.data(), xs.data());
  for (int64_t t = 0; t < inputs; ++t) q8_input_sums(xq.data() + t * cols, cols, sums.data() + t * blocks);
  // Copies > 1: the weights rotate through that many copies (an expert's
  // matrices in prefill come from memory, not from the caches).
  const int64_t copies = state.range(1);
  std::vector<uint8_t> all_packed(copies * packed.size());
  std::vector<float> all_scales(copies * packed_scales.size());
  for (int64_t c = 0; c < copies; ++c) {
    std::copy(packed.begin(), packed.end(), all_packed.begin() + c * packed.size());
    std::copy(packed_scales.begin(), packed_scales.end(), all_scales.begin() + c * packed_scales.size());
  }
  int64_t c = 0;
  for (auto _ : state) {
    dot_q8_interleaved(all_packed.data() + c * packed.size(), all_scales.data() + c * packed_scales.size(),
                       rows / kQ8InterleavedRows, xq.data(), xs.data(), sums.data(), inputs, cols, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
    c = (c + 1) % copies;
  }
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(rows * cols * inputs) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Q8InterleavedProduct)
    ->ArgsProduct({{1, 4, 48, 512}, {1}})
    ->Args({48, 32})
    ->Unit(benchmark::kMicrosecond);

void BM_Q4Product(benchmark::State& state) {
  const int64_t rows = 1408, cols = 2048, inputs = state.range(0), blocks = cols / 32;
  const std::vector<float> w = normal_values(rows * cols, 3), x = normal_values(inputs * cols, 4);
  std::vector<uint8_t> wq(rows * cols / 2);
  std::vector<int8_t> xq(inputs * cols);
  std::vector<float> ws(rows * blocks), xs(inputs * blocks), offsets(inputs * blocks), y(inputs * rows);
  for (int64_t r = 0; r < rows; ++r) quantize_q4_row(w.data() + r * cols, cols, wq.data() + r * cols / 2, ws.data() + r * blocks);
  quantize_q8(x.data(), inputs * cols, xq.data(), xs.data());
  for (int64_t t = 0; t < inputs; ++t)
    q4_input_offsets(xq.data() + t * cols, xs.data() + t * blocks, cols, offsets.data() + t * blocks);
  for (auto _ : state) {
    dot_q4_rows_inputs(wq.data(), ws.data(), blocks, rows, xq.data(), xs.data(), offsets.data(), inputs, cols,
                       y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(rows * cols * inputs) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Q4Product)->Arg(1)->Arg(4)->Arg(48)->Arg(512)->Unit(benchmark::kMicrosecond);

// Q4 weights of the experts as loaded: 16 rows interleaved (q4_interleaved.h).
void BM_Q4InterleavedProduct(benchmark::State& state) {
  const int64_t rows = 1408, cols = 2048, inputs = state.range(0), blocks = cols / 32;
  const WeightMatrix w = to_q4(make_bf16_weight("w", rows, cols, normal_values(rows * cols, 3)));
  const std::vector<float> x = normal_values(inputs * cols, 4);
  std::vector<int8_t> xq(inputs * cols);
  std::vector<float> xs(inputs * blocks), y(inputs * rows);
  std::vector<int32_t> sums(inputs * blocks);
  quantize_q8(x.data(), inputs * cols, xq.data(), xs.data());
  for (int64_t t = 0; t < inputs; ++t) q8_input_sums(xq.data() + t * cols, cols, sums.data() + t * blocks);
  for (auto _ : state) {
    dot_q4_interleaved(w.data, w.scales->data(), rows / kQ4InterleavedRows, xq.data(), xs.data(), sums.data(), inputs,
                       cols, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(rows * cols * inputs) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Q4InterleavedProduct)->Arg(1)->Arg(4)->Arg(48)->Arg(512)->Unit(benchmark::kMicrosecond);

// Decode from memory: one input against 64 experts' worth of rows (Q8: 185
// MB, far beyond the caches), so the weights stream from DRAM as in a real
// model. Reports bytes read per second on one thread.
constexpr int64_t kStreamRows = 1408 * 64, kStreamCols = 2048;

// The ceiling for the decode benchmarks below: one thread summing the same
// bytes (an expert matrix's rows x columns, 64 experts) as they stream from
// memory, four independent 256-bit accumulators.
__attribute__((target("avx2"))) uint64_t sum_words(const uint64_t* p, std::size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (std::size_t i = 0; i + 16 <= n; i += 16) {
    a = _mm256_add_epi64(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_add_epi64(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    c = _mm256_add_epi64(c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    d = _mm256_add_epi64(d, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

void BM_ReadFromMemory(benchmark::State& state) {
  const std::size_t bytes = static_cast<std::size_t>(kStreamRows * kStreamCols);
  std::vector<uint64_t> words(bytes / sizeof(uint64_t));
  for (std::size_t i = 0; i < words.size(); ++i) words[i] = i;
  for (auto _ : state) benchmark::DoNotOptimize(sum_words(words.data(), words.size()));
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ReadFromMemory)->Unit(benchmark::kMillisecond);

void BM_Q8DecodeFromMemory(benchmark::State& state) {
  const int64_t rows = kStreamRows, cols = kStreamCols, blocks = cols / 32;
  std::vector<int8_t> wq(rows * cols);
  std::vector<float> ws(rows * blocks, 0.01f), y(rows);
  for (std::size_t i = 0; i < wq.size(); ++i) wq[i] = static_cast<int8_t>(i * 7 % 255 - 127);
  const std::vector<float> x = normal_values(cols, 4);
  std::vector<int8_t> xq(cols);
  std::vector<float> xs(blocks);
  quantize_q8(x.data(), cols, xq.data(), xs.data());
  for (auto _ : state) {
    dot_q8_rows_inputs(wq.data(), ws.data(), blocks, rows, xq.data(), xs.data(), 1, cols, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(rows * (cols + blocks * 4)) * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Q8DecodeFromMemory)->Unit(benchmark::kMillisecond);

void BM_Q8InterleavedDecodeFromMemory(benchmark::State& state) {
  const int64_t rows = kStreamRows, cols = kStreamCols, blocks = cols / 32;
  auto packed_mem = allocate_weight_bytes(rows * cols);
  std::span<uint8_t> packed(packed_mem.get(), rows * cols);
  std::vector<float> packed_scales(rows * blocks, 0.01f), y(rows);
  for (std::size_t i = 0; i < packed.size(); ++i) packed[i] = static_cast<uint8_t>(i * 7);
  const std::vector<float> x = normal_values(cols, 4);
  std::vector<int8_t> xq(cols);
  std::vector<float> xs(blocks);
  std::vector<int32_t> sums(blocks);
  quantize_q8(x.data(), cols, xq.data(), xs.data());
  q8_input_sums(xq.data(), cols, sums.data());
  for (auto _ : state) {
    dot_q8_interleaved(packed.data(), packed_scales.data(), rows / kQ8InterleavedRows, xq.data(), xs.data(), sums.data(), 1, cols,
                       y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(rows * (cols + blocks * 4)) * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Q8InterleavedDecodeFromMemory)->Unit(benchmark::kMillisecond);

void BM_Q4DecodeFromMemory(benchmark::State& state) {
  const int64_t rows = kStreamRows, cols = kStreamCols, blocks = cols / 32;
  std::vector<uint8_t> wq(rows * cols / 2);
  std::vector<float> ws(rows * blocks, 0.01f), y(rows);
  for (std::size_t i = 0; i < wq.size(); ++i) wq[i] = static_cast<uint8_t>(i * 7);
  const std::vector<float> x = normal_values(cols, 4);
  std::vector<int8_t> xq(cols);
  std::vector<float> xs(blocks), offsets(blocks);
  quantize_q8(x.data(), cols, xq.data(), xs.data());
  q4_input_offsets(xq.data(), xs.data(), cols, offsets.data());
  for (auto _ : state) {
    dot_q4_rows_inputs(wq.data(), ws.data(), blocks, rows, xq.data(), xs.data(), offsets.data(), 1, cols, y.data(),
                       rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(rows * (cols / 2 + blocks * 4)) * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Q4DecodeFromMemory)->Unit(benchmark::kMillisecond);

void BM_Q4InterleavedDecodeFromMemory(benchmark::State& state) {
  const int64_t rows = kStreamRows, cols = kStreamCols, blocks = cols / 32;
  auto packed_mem = allocate_weight_bytes(rows * cols / 2);
  std::span<uint8_t> packed(packed_mem.get(), rows * cols / 2);
  std::vector<float> packed_scales(rows * blocks, 0.01f), y(rows);
  for (std::size_t i = 0; i < packed.size(); ++i) packed[i] = static_cast<uint8_t>(i * 7);
  const std::vector<float> x = normal_values(cols, 4);
  std::vector<int8_t> xq(cols);
  std::vector<float> xs(blocks);
  std::vector<int32_t> sums(blocks);
  quantize_q8(x.data(), cols, xq.data(), xs.data());
  q8_input_sums(xq.data(), cols, sums.data());
  for (auto _ : state) {
    dot_q4_interleaved(packed.data(), packed_scales.data(), rows / kQ4InterleavedRows, xq.data(), xs.data(),
                       sums.data(), 1, cols, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(rows * (cols / 2 + blocks * 4)) * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Q4InterleavedDecodeFromMemory)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace frugal

BENCHMARK_MAIN();
