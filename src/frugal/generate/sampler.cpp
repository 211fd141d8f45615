#include "frugal/generate/sampler.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

#include "frugal/core/error.h"
#include "frugal/kernels/ops.h"

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
    // e^(logit - max) in float through the vector kernel: the draw needs
    // relative precision near 1e-7, not double's, and a scalar double exp per
    // token of the vocabulary was a tenth of a small model's decode step.
    exponents_.resize(pool_.size());
    for (std::size_t i = 0; i < pool_.size(); ++i) exponents_[i] = static_cast<float>(pool_[i].p - max_logit);
    exp_in_place(exponents_.data(), static_cast<int64_t>(exponents_.size()));
    for (std::size_t i = 0; i < pool_.size(); ++i) sum += pool_[i].p = exponents_[i];
  }
  double p_max = 0.0;
  for (Candidate& c : pool_) p_max = std::max(p_max, c.p /= sum);

  // min-p (and zero probabilities) remove tokens outright: the eligible
  // tokens are moved to [begin, eligible), in no particular order.
  const double min_keep = static_cast<double>(params_.min_p) * p_max;
  const auto is_eligible = [&](const Candidate& c) { return c.p > 0.0 && c.p >= min_keep; };
  double eligible_mass = 0.0;  // in pool order, before the partition shuffles it
  for (const Candidate& c : pool_)
    if (is_eligible(c)) eligible_mass += c.p;
  const auto eligible = std::partition(pool_.begin(), pool_.end(), is_eligible);

  // Both top-p and the draw walk the tokens in descending order and stop
  // early, so only an upper set {p >= bound} need be sorted: the walk over it
  // is exactly the start of the walk over every eligible token, and whenever
  // it stops inside it the result is right. The bound keeps whole octaves of
  // probability, from the top, until they hold more than the walk needs; if
  // rounding makes the walk run off the end of the upper set anyway, every
  // eligible token is sorted and walked instead.
  // -ilogb(p), at most 63, read off the exponent bits: p is a probability,
  // and a library call per token of the vocabulary cost a third of the draw.
  const auto octave = [](double p) {
    uint64_t bits;
    std::memcpy(&bits, &p, sizeof bits);
    const int biased_exponent = static_cast<int>((bits >> 52) & 0x7FF);  // 0 for subnormals
    return static_cast<std::size_t>(std::clamp(1023 - biased_exponent, 0, 63));
  };
  const auto octave_bound = [&](auto first, auto last, double needed) {
    // [b]: p in [2^-b, 2^(1-b)); [63]: every p < 2^-62. Four interleaved
    // histograms: most tokens land in the same few octaves, and one running
    // sum per octave would chain every addition on the previous one's store.
    std::array<std::array<double, 64>, 4> partial{};
    std::size_t i = 0;
    for (auto it = first; it != last; ++it, ++i)
      if (it->p > 0.0) partial[i % 4][octave(it->p)] += it->p;
    std::array<double, 64> mass;
    for (std::size_t b = 0; b < 64; ++b) mass[b] = (partial[0][b] + partial[1][b]) + (partial[2][b] + partial[3][b]);
    double included = 0.0;
    for (int b = 0; b < 63; ++b)
      if ((included += mass[static_cast<std::size_t>(b)]) > needed) return std::ldexp(1.0, -b);
    return 0.0;
  };
  const auto sort_upper_set = [&](double bound) {  // returns the end of the sorted upper set
    const auto end = bound > 0.0 ? std::partition(pool_.begin(), eligible,
                                                  [&](const Candidate& c) { return c.p >= bound; })
                                 : eligible;
    std::sort(pool_.begin(), end, before);
    return end;
  };

  // top-p: the nucleus is [begin, kept_end). The mass needed is taken over
  // the whole pool, min-p's dropped tokens included.
  auto kept_end = eligible;
  double kept_mass = eligible_mass;
  if (params_.top_p < 1.0f) {
    const double top_p = params_.top_p;
    const auto nucleus_end = [&](auto end) {  // end of the nucleus, or `end` if top_p is not reached
      double cumulative = 0.0;
      for (auto it = pool_.begin(); it != end; ++it) {
        cumulative += it->p;
        if (cumulative >= top_p - kTopPSlack) return it + 1;
      }
      return end;
    };
    const auto sorted_end = sort_upper_set(octave_bound(pool_.begin(), pool_.end(), top_p));
    kept_end = nucleus_end(sorted_end);
    if (kept_end == sorted_end && sorted_end != eligible) {
      sort_upper_set(0.0);
      kept_end = nucleus_end(eligible);
    }
    kept_mass = 0.0;  // in descending order
    for (auto it = pool_.begin(); it != kept_end; ++it) kept_mass += it->p;
  }

  // Renormalise the survivors [begin, kept_end) and draw. Without top-p they
  // are not sorted yet: sort the upper set holding more than u of their mass.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  const auto draw = [&](auto end) {  // the drawn token, or `end` if u is not reached
    double cumulative = 0.0;
    for (auto it = pool_.begin(); it != end; ++it)
      if ((cumulative += it->p / kept_mass) > u) return it;
    return end;
  };
  auto sorted_end = kept_end;
  if (params_.top_p >= 1.0f) sorted_end = sort_upper_set(octave_bound(pool_.begin(), kept_end, u * kept_mass));
  auto chosen = draw(sorted_end);
  if (chosen == sorted_end && sorted_end != kept_end) {
    sort_upper_set(0.0);
    chosen = draw(kept_end);
  }
  if (chosen == kept_end) --chosen;  // rounding left u unreached: the last survivor
  return chosen->id;
}

}  // namespace frugal
