#pragma once
// Next-token sampling from a logits vector: repetition, presence and
// frequency penalties, then temperature, top-k, top-p (nucleus) and min-p,
// then one seeded, fully specified random draw.
//
// Order of operations for one call of Sampler::sample(logits, context):
//   1. Penalties, on a working copy of the logits (in double), for every
//      distinct id in `context` that lies in [0, vocab); other ids are ignored:
//        a. repetition penalty (CTRL): logit > 0 ? logit / rp : logit * rp;
//        b. then logit -= presence_penalty + count * frequency_penalty, where
//           count is how often the id occurs in `context`.
//   2. temperature == 0: return the argmax (lowest id on ties). Steps 3-7 and
//      the random generator are skipped, so the seed does not matter.
//   3. Divide every logit by the temperature.
//   4. top-k: keep the top_k largest logits (ties: the lower ids).
//   5. Softmax over the kept tokens, in double, stable (max subtracted).
//      Tokens whose probability is exactly 0 (e.g. logit -inf) are dropped.
//   6. top-p: sort descending by probability (ties: lower id first) and keep
//      the shortest prefix whose cumulative probability reaches top_p (always
//      at least one token). min-p: drop tokens with p < min_p * p_max. The
//      survivors are those kept by both (min-p is relative to p_max, which
//      top-p never removes, so the two commute).
//   7. Renormalise the survivors (q = p / their total, summed in descending
//      order after top-p, else in id order; with top-k in selection order)
//      and draw: u = (rng() >> 11) * 2^-53 in [0, 1) from a std::mt19937_64
//      seeded with `seed` (exactly one draw per non-greedy call); walk the
//      survivors in the step-6 order accumulating q and return the first id
//      at which the sum exceeds u (the last survivor if rounding leaves u
//      unreached).
//
// Same seed, same sequence of (logits, context) calls => same tokens.
// Cost per call for a vocabulary V: O(V + |context|) plus a sort. top_k uses
// nth_element, so at most k tokens are ever sorted. Beyond that, the top-p
// walk and the draw stop early, so only the most likely tokens are sorted:
// whole octaves of probability, from the top, holding more mass than the walk
// needs. This is exact: the walk over them is the start of the full walk, and
// a full sort is the fallback should rounding make it run past them.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace frugal {

struct SamplingParams {
  // Divides the logits. 0 = greedy (argmax after penalties). Must be finite and >= 0.
  float temperature = 1.0f;
  // Keep only the top_k most likely tokens. 0 = off (as is any value >= vocab). Must be >= 0.
  int top_k = 0;
  // Nucleus: keep the smallest set of most likely tokens whose cumulative
  // probability reaches top_p; a shortfall below 1e-6 counts as reaching it,
  // so float rounding does not add a token at an exact boundary (0.5 + 0.3
  // reaches 0.8). 1 = off. Must be in (0, 1].
  float top_p = 1.0f;
  // Drop tokens with p < min_p * p_max. 0 = off. Must be in [0, 1].
  float min_p = 0.0f;
  // CTRL-style, once per distinct token in the context: positive logits are
  // divided by it, others multiplied. 1 = off; > 1 discourages repeats.
  // Must be finite and > 0.
  float repetition_penalty = 1.0f;
  // Subtracted once from the logit of every distinct token in the context
  // (OpenAI semantics; negative values encourage repeats). Must be finite.
  float presence_penalty = 0.0f;
  // Subtracted count times from the logit of a token that occurs count times
  // in the context (OpenAI semantics). Must be finite.
  float frequency_penalty = 0.0f;
  // Seeds the std::mt19937_64 behind every draw.
  uint64_t seed = 0;
};

// Throws frugal::Error naming the offending field if `params` is out of range.
void validate(const SamplingParams& params);

class Sampler {
 public:
  // Validates `params` and seeds the generator with params.seed.
  explicit Sampler(const SamplingParams& params);

  // Picks the next token id from logits [vocab]. `context` = the ids so far
  // (prompt + generated), used only by the penalties. Throws frugal::Error if
  // the logits are empty, contain NaN, or are all -inf.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> context);

  const SamplingParams& params() const { return params_; }

 private:
  struct Candidate {
    double p;  // logit, then probability
    int32_t id;
  };

  void apply_penalties(std::span<const int32_t> context);
  int32_t argmax() const;

  SamplingParams params_;
  std::mt19937_64 rng_;
  // Scratch buffers, reused across calls.
  std::vector<double> work_;      // [vocab] penalised logits
  std::vector<uint32_t> counts_;  // [vocab] occurrences in the context; all 0 between calls
  std::vector<Candidate> pool_;   // candidate tokens
  std::vector<float> exponents_;  // scratch for the softmax
};

}  // namespace frugal
