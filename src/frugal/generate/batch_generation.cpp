#include "frugal/generate/batch_generation.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "frugal/core/error.h"

namespace frugal {

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
    KvCache cache = model.new_cache(capacity);
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

  // Decode all unfinished completions together.
  std::vector<KvCache*> batch_caches;
  std::vector<float> batch_logits;
  while (!active.empty()) {
    batch_caches.clear();
    for (std::size_t i : active) batch_caches.push_back(&*caches[i]);
    batch_logits.resize(active.size() * static_cast<std::size_t>(V));
    model.forward_decode_batch(next_tokens.data(), static_cast<int64_t>(active.size()), batch_caches.data(),
                               batch_logits.data());
    std::vector<std::size_t> still_active;
    std::vector<int32_t> still_next;
    for (std::size_t b = 0; b < active.size(); ++b) {
      const std::size_t i = active[b];
      const std::span<const float> row(batch_logits.data() + b * static_cast<std::size_t>(V), static_cast<std::size_t>(V));
      const int32_t token = samplers[i].sample(row, contexts[i]);
      if (accept(i, token)) {
        still_active.push_back(i);
        still_next.push_back(token);
      }
    }
    active.swap(still_active);
    next_tokens.swap(still_next);
  }
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
