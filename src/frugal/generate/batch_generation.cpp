#include "frugal/generate/batch_generation.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"

namespace frugal {
namespace {

// Weights read per decoded token, estimated from the shapes in float32.
uint64_t weight_bytes_per_token_estimate(const Config& c) {
  const uint64_t D = c.hidden_size, H = c.num_attention_heads, qk = c.qk_head_dim();
  const uint64_t queries = c.q_lora_rank > 0 ? D * c.q_lora_rank + c.q_lora_rank * H * qk : D * H * qk;
  const uint64_t attention = queries + D * (c.kv_lora_rank + c.qk_rope_head_dim) +
                             c.kv_lora_rank * H * (c.qk_nope_head_dim + c.v_head_dim) + H * c.v_head_dim * D;
  uint64_t parameters = D * c.vocab_size;
  for (int layer = 0; layer < c.num_hidden_layers; ++layer) {
    const uint64_t experts = static_cast<uint64_t>(c.num_experts_per_tok) + c.n_shared_experts;
    parameters += attention + (c.is_moe_layer(layer) ? 3 * D * c.moe_intermediate_size * experts
                                                     : 3 * D * c.intermediate_size);
  }
  return parameters * sizeof(float);
}

}  // namespace

// A small model's products are too short to split over threads (each thread
// would wait on the others after every one), and its weights stay in the
// last-level cache, so threads that each read all of them cost no memory
// bandwidth: then each thread decodes its own group of completions. A larger
// model splits every product's weight rows over the threads instead, so the
// weights are read from memory once per step.
bool splits_batches_over_threads(const Config& config) {
  constexpr uint64_t kCacheResidentBytes = 8ull << 20;
  return weight_bytes_per_token_estimate(config) <= kCacheResidentBytes;
}

std::vector<Completion> generate_batch(const Model& model, const std::vector<std::vector<int32_t>>& prompts,
                                       int copies, const BatchGenerationOptions& options,
                                       BatchGenerationStats* stats) {
  using clock = std::chrono::steady_clock;
  const Config& config = model.config();
  const int64_t V = config.vocab_size;
  if (copies < 1) fail("completions per prompt must be at least 1, got ", copies);
  if (options.max_new_tokens < 1) fail("max_new_tokens must be at least 1");
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty()) fail("prompt ", p, " is empty");
    const int64_t need = static_cast<int64_t>(prompts[p].size()) + options.max_new_tokens;
    if (need > config.max_position_embeddings)
      fail("prompt ", p, " (", prompts[p].size(), " tokens) plus ", options.max_new_tokens,
           " new tokens exceeds the model's context of ", config.max_position_embeddings, " tokens");
  }

  const std::size_t total = prompts.size() * static_cast<std::size_t>(copies);
  std::vector<Completion> results(total);
  std::vector<std::optional<KvCache>> caches(total);
  std::vector<Sampler> samplers;
  std::vector<std::vector<int32_t>> contexts(total);  // prompt + generated, for the penalties
  samplers.reserve(total);
  for (std::size_t i = 0; i < total; ++i) {
    SamplingParams params = options.sampling;
    params.seed = options.sampling.seed + i;
    samplers.emplace_back(params);
  }
  auto is_stop = [&](int32_t token) {
    return std::find(options.stop_tokens.begin(), options.stop_tokens.end(), token) != options.stop_tokens.end();
  };
  // Appends a drawn token; returns whether the completion goes on.
  auto accept = [&](std::size_t i, int32_t token) {
    results[i].tokens.push_back(token);
    contexts[i].push_back(token);
    if (is_stop(token)) {
      results[i].stop_reason = StopReason::EndToken;
      return false;
    }
    return static_cast<int64_t>(results[i].tokens.size()) < options.max_new_tokens;
  };

  // Prefill each prompt once; its copies start from the same cache and logits.
  std::vector<std::size_t> active;
  std::vector<int32_t> next_tokens;
  std::vector<float> logits(static_cast<std::size_t>(V));
  const auto prefill_began = clock::now();
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    const int64_t capacity = static_cast<int64_t>(prompts[p].size()) + options.max_new_tokens;
    KvCache cache = model.new_cache(capacity, options.kv_cache_dtype);
    ForwardOptions forward;
    forward.last_logits_only = true;
    model.forward(prompts[p].data(), static_cast<int64_t>(prompts[p].size()), cache, logits.data(), nullptr, forward);
    for (int c = 0; c < copies; ++c) {
      const std::size_t i = p * static_cast<std::size_t>(copies) + static_cast<std::size_t>(c);
      caches[i] = cache;
      contexts[i] = prompts[p];
      const int32_t token = samplers[i].sample(logits, contexts[i]);
      if (accept(i, token)) {
        active.push_back(i);
        next_tokens.push_back(token);
      }
    }
    if (stats) stats->prompt_tokens += static_cast<int64_t>(prompts[p].size());
  }
  const auto decode_began = clock::now();

  // Decode the unfinished completions: one decode batch, or, when the model
  // is small enough for that to pay, one group per thread, each running its
  // own loop with no hand-over between threads until its completions end.
  ThreadPool& pool = ThreadPool::global();
  const std::size_t groups =
      splits_batches_over_threads(config) ? std::min<std::size_t>(static_cast<std::size_t>(pool.num_threads()), active.size()) : 1;
  pool.parallel_for(groups, [&](std::size_t group_begin, std::size_t group_end) {
    for (std::size_t g = group_begin; g < group_end; ++g) {
      const std::size_t lo = active.size() * g / groups, hi = active.size() * (g + 1) / groups;
      std::vector<std::size_t> running(active.begin() + lo, active.begin() + hi);
      std::vector<int32_t> tokens(next_tokens.begin() + lo, next_tokens.begin() + hi);
      std::vector<KvCache*> batch_caches;
      std::vector<float> batch_logits;
      std::vector<char> goes_on;
      while (!running.empty()) {
        const std::size_t n = running.size();
        batch_caches.clear();
        for (std::size_t i : running) batch_caches.push_back(&*caches[i]);
        batch_logits.resize(n * static_cast<std::size_t>(V));
        model.forward_decode_batch(tokens.data(), static_cast<int64_t>(n), batch_caches.data(), batch_logits.data());
        // Completions sample independently (in parallel unless this group
        // already has its own thread); each draws from its own generator.
        goes_on.assign(n, 0);
        pool.parallel_for(n, [&](std::size_t begin, std::size_t end) {
          for (std::size_t b = begin; b < end; ++b) {
            const std::size_t i = running[b];
            const std::span<const float> row(batch_logits.data() + b * static_cast<std::size_t>(V),
                                             static_cast<std::size_t>(V));
            tokens[b] = samplers[i].sample(row, contexts[i]);
            goes_on[b] = accept(i, tokens[b]);
          }
        });
        std::size_t kept = 0;
        for (std::size_t b = 0; b < n; ++b) {
          if (!goes_on[b]) continue;
          running[kept] = running[b];
          tokens[kept] = tokens[b];
          ++kept;
        }
        running.resize(kept);
        tokens.resize(kept);
      }
    }
  });
  for (std::size_t i = 0; i < total; ++i) caches[i].reset();
  if (stats) {
    const auto end = clock::now();
    stats->prefill_seconds += std::chrono::duration<double>(decode_began - prefill_began).count();
    stats->decode_seconds += std::chrono::duration<double>(end - decode_began).count();
    for (const Completion& c : results) stats->generated_tokens += static_cast<int64_t>(c.tokens.size());
  }
  return results;
}

}  // namespace frugal
