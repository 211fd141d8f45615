#pragma once
// The model's log-probabilities of given next tokens, and the gradient of any
// loss written in terms of them. Cross-entropy (pre-training, SFT) and the
// policy-gradient objectives of GRPO are all functions of log p(token), so
// one pair of functions serves them all.
#include <cstdint>

namespace frugal {

// Turns logits [rows, vocab] into softmax probabilities in place and writes
// log p(targets[r]) per row (0 for rows whose target is negative: no target).
void softmax_and_target_log_probs(float* logits, const int32_t* targets, int64_t rows, int64_t vocab,
                                  float* target_log_probs);

// Turns those probabilities into d loss / d logits in place, given
// coefficients[r] = d loss / d log p(targets[r]): coefficients[r] (onehot - p).
// Rows without a target or with a zero coefficient become 0.
void log_prob_gradient_in_place(float* probs, const int32_t* targets, const float* coefficients, int64_t rows,
                                int64_t vocab);

}  // namespace frugal
