#pragma once
// Many completions at once, as GRPO's rollouts and batch evaluation need:
// each prompt is prefilled once and its latent cache copied to each of its
// completions; then every unfinished completion advances by one token per
// step in a single decode batch, so the weights are read once per step for
// all of them instead of once per completion.
#include <cstdint>
#include <vector>

#include "frugal/generate/generator.h"
#include "frugal/generate/sampler.h"
#include "frugal/model/model.h"

namespace frugal {

// Whether generate_batch gives each thread its own group of completions (a
// model whose weights fit in the cache) rather than splitting every product.
bool splits_batches_over_threads(const Config& config);

struct BatchGenerationOptions {
  // Completion i (in result order) draws with seed sampling.seed + i.
  SamplingParams sampling;
  int64_t max_new_tokens = 256;
  // Generating one of these ends a completion; it is kept as its last token.
  std::vector<int32_t> stop_tokens;
  DType kv_cache_dtype = DType::F32;  // f32 or bf16 latent cache
};

struct Completion {
  std::vector<int32_t> tokens;  // generated ids, ending with the stop token when one was drawn
  StopReason stop_reason = StopReason::MaxTokens;
};

struct BatchGenerationStats {
  int64_t generated_tokens = 0;
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
};

// `copies` completions of every prompt; result index = prompt * copies + copy.
// Fails, before generating anything, if a prompt plus max_new_tokens does not
// fit the model's context.
std::vector<Completion> generate_batch(const Model& model, const std::vector<std::vector<int32_t>>& prompts,
                                       int copies, const BatchGenerationOptions& options,
                                       BatchGenerationStats* stats = nullptr);

}  // namespace frugal
