#include "frugal/generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "frugal/core/error.h"

namespace frugal {
namespace {

// A cumulative probability this close below top_p counts as reaching it.
constexpr double kTopPSlack = 1e-6;

}  // namespace

void validate(const SamplingParams& params) {
  if (!std::isfinite(params.temperature) || params.temperature < 0.0f)
    fail("sampler: temperature must be finite and >= 0 (0 = greedy), got ", params.temperature);
  if (params.top_k < 0) fail("sampler: top_k must be >= 0 (0 = off), got ", params.top_k);
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f))
    fail("sampler: top_p must be in (0, 1] (1 = off), got ", params.top_p);
  if (!(params.min_p >= 0.0f && params.min_p <= 1.0f))
    fail("sampler: min_p must be in [0, 1] (0 = off), got ", params.min_p);
  if (!std::isfinite(params.repetition_penalty) || params.repetition_penalty <= 0.0f)
    fail("sampler: repetition_penalty must be finite and > 0 (1 = off), got ", params.repetition_penalty);
  if (!std::isfinite(params.presence_penalty))
    fail("sampler: presence_penalty must be finite, got ", params.presence_penalty);
  if (!std::isfinite(params.frequency_penalty))
    fail("sampler: frequency_penalty must be finite, got ", params.frequency_penalty);
}

Sampler::Sampler(const SamplingParams& params) : params_(params) {
  validate(params_);
  rng_.seed(params_.seed);
}

void Sampler::apply_penalties(std::span<const int32_t> context) {
  const double rp = params_.repetition_penalty;
  const double presence = params_.presence_penalty;
  const double frequency = params_.frequency_penalty;
  if (rp == 1.0 && presence == 0.0 && frequency == 0.0) return;
  const auto vocab = static_cast<int64_t>(work_.size());
  counts_.resize(work_.size(), 0);  // invariant: all zero between calls
  for (const int32_t id : context)
    if (id >= 0 && id < vocab) ++counts_[static_cast<std::size_t>(id)];
  // Second pass: the first occurrence of each distinct id applies its
  // penalties and clears its count, so later occurrences are skipped and the
  // counts are back to zero at the end.
  for (const int32_t id : context) {
    if (id < 0 || id >= vocab) continue;
    const auto i = static_cast<std::size_t>(id);
    const uint32_t count = counts_[i];
    if (count == 0) continue;
    counts_[i] = 0;
    double& logit = work_[i];
    if (rp != 1.0) logit = logit > 0.0 ? logit / rp : logit * rp;
    logit -= presence + static_cast<double>(count) * frequency;
  }
}

int32_t Sampler::argmax() const {
  std::size_t best = 0;
  for (std::size_t i = 1; i < work_.size(); ++i)
    if (work_[i] > work_[best]) best = i;  // strict: ties keep the lower id
  if (work_[best] == -std::numeric_limits<double>::infinity())
    fail("sampler: every logit is -inf; no token can be chosen");
  return static_cast<int32_t>(best);
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> context) {
  const std::size_t vocab = logits.size();
  if (vocab == 0) fail("sampler: logits are empty");
  if (vocab > static_cast<std::size_t>(std::numeric_limits<int32_t>::max()))
    fail("sampler: vocabulary of ", vocab, " tokens exceeds int32 ids");
  work_.resize(vocab);
  for (std::size_t i = 0; i < vocab; ++i) {
    if (std::isnan(logits[i])) throw Error("sampler: logits contain NaN");
    work_[i] = logits[i];
  }
  apply_penalties(context);
  if (params_.temperature == 0.0f) return argmax();

  // Descending value, ties by lower id: a strict total order, so every sort
  // and selection below is deterministic whatever the input order.
  const auto before = [](const Candidate& a, const Candidate& b) {
    return a.p > b.p || (a.p == b.p && a.id < b.id);
  };

  // Temperature, then top-k on the scaled logits.
  const double temperature = params_.temperature;
  pool_.resize(vocab);
  for (std::size_t i = 0; i < vocab; ++i) pool_[i] = {work_[i] / temperature, static_cast<int32_t>(i)};
  if (params_.top_k > 0 && static_cast<std::size_t>(params_.top_k) < vocab) {
    const auto k = static_cast<std::size_t>(params_.top_k);
    std::nth_element(pool_.begin(), pool_.begin() + static_cast<std::ptrdiff_t>(k - 1), pool_.end(), before);
    pool_.resize(k);
  }

  // Stable softmax over the pool, in place (p: logit -> probability).
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double max_logit = -kInf;
  for (const Candidate& c : pool_) max_logit = std::max(max_logit, c.p);
  if (max_logit == -kInf) fail("sampler: every logit is -inf; no token can be chosen");
  double sum = 0.0;
  if (max_logit == kInf) {  // +inf logits share all the mass equally
    for (Candidate& c : pool_) sum += c.p = c.p == kInf ? 1.0 : 0.0;
  } else {
    for (Candidate& c : pool_) sum += c.p = std::exp(c.p - max_logit);
  }
  double p_max = 0.0;
  for (Candidate& c : pool_) p_max = std::max(p_max, c.p /= sum);

  // min-p (and zero probabilities) remove tokens outright: [begin, eligible).
  const double min_keep = static_cast<double>(params_.min_p) * p_max;
  const auto eligible = std::partition(pool_.begin(), pool_.end(),
                                       [&](const Candidate& c) { return c.p > 0.0 && c.p >= min_keep; });

  // top-p. Tokens with p < (1 - top_p) / |pool| hold less than 1 - top_p in
  // total, so the nucleus lies among the others: sort only those. If rounding
  // keeps their walk short of top_p while some were set aside, redo the walk
  // over every eligible token.
  const double top_p = params_.top_p;
  const bool use_top_p = params_.top_p < 1.0f;
  auto sorted_end = eligible;
  if (use_top_p) {
    const double bound = (1.0 - top_p) / static_cast<double>(pool_.size());
    sorted_end = std::partition(pool_.begin(), eligible, [&](const Candidate& c) { return c.p >= bound; });
  }
  std::sort(pool_.begin(), sorted_end, before);
  auto kept_end = sorted_end;
  if (use_top_p) {
    const auto walk = [&](auto end) {  // end of the nucleus, or `end` if top_p is not reached
      double cumulative = 0.0;
      for (auto it = pool_.begin(); it != end; ++it) {
        cumulative += it->p;
        if (cumulative >= top_p - kTopPSlack) return it + 1;
      }
      return end;
    };
    kept_end = walk(sorted_end);
    if (kept_end == sorted_end && sorted_end != eligible) {
      std::sort(pool_.begin(), eligible, before);
      kept_end = walk(eligible);
    }
  }

  // Renormalise the survivors and draw.
  double kept_sum = 0.0;
  for (auto it = pool_.begin(); it != kept_end; ++it) kept_sum += it->p;
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  double cumulative = 0.0;
  for (auto it = pool_.begin(); it != kept_end; ++it) {
    cumulative += it->p / kept_sum;
    if (cumulative > u) return it->id;
  }
  return (kept_end - 1)->id;
}

}  // namespace frugal
