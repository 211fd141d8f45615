#pragma once
// Where a training loop gets its batches. A batch is a list of token
// sequences with, per sequence, the first token the loss counts: 1 for
// pre-training (every next token), the first completion token for supervised
// fine-tuning (the prompt is context, not a target). batch(step, size) is a
// pure function of the step, so a resumed run sees the same batches.
#include <cstdint>
#include <vector>

namespace frugal {

struct TrainingBatch {
  std::vector<std::vector<int32_t>> sequences;
  std::vector<int64_t> loss_starts;  // per sequence; tokens before it are not predicted by the loss
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual TrainingBatch batch(int64_t step, int batch_size) const = 0;
  // Tokens available for training (for the progress line).
  virtual int64_t token_count() const = 0;
  // Sequences (windows or examples) per epoch.
  virtual int64_t items_per_epoch() const = 0;
};

}  // namespace frugal
