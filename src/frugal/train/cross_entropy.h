#pragma once
// Softmax cross-entropy over vocabulary logits, with its gradient.
#include <cstdint>

namespace frugal {

// For each row with a target (targets[r] >= 0) adds -log softmax(row)[target]
// to the returned sum. Then overwrites the logits with the gradient of
// grad_scale * that sum: (softmax - onehot) * grad_scale, and 0 on rows
// without a target.
double cross_entropy_in_place(float* logits, const int32_t* targets, int64_t rows, int64_t vocab,
                              float grad_scale);

}  // namespace frugal
