#pragma once
// Supervised fine-tuning examples (DeepSeek-R1's "cold start"): JSONL lines
// {"prompt": TEXT, "completion": TEXT}, tokenized as
// BOS + prompt + completion + EOS, with the loss on the completion and EOS
// only. The prompt text is used as given (templates are applied by whoever
// wrote the file), so the model sees exactly what evaluation will show it.
#include <cstdint>
#include <string>
#include <vector>

#include "frugal/tokenizer/tokenizer.h"
#include "frugal/train/batch_source.h"

namespace frugal {

struct SftExample {
  std::vector<int32_t> tokens;
  int64_t completion_start = 0;  // index of the first completion token
};

// Reads and tokenizes every line; errors name the file and line. Lines longer
// than `max_tokens` tokens are an error too (they would not fit the model).
std::vector<SftExample> load_sft_examples(const std::string& path, const Tokenizer& tokenizer, int64_t max_tokens);

// Splits off round(fraction x n) examples (at least 1, never all) for
// held-out evaluation by a seeded shuffle; both parts keep the file's order.
void split_sft_examples(std::vector<SftExample> all, double held_out_fraction, uint64_t seed,
                        std::vector<SftExample>& train, std::vector<SftExample>& held_out);

// Examples in a seeded order reshuffled every epoch, `batch_size` per step.
class SftBatches : public BatchSource {
 public:
  SftBatches(std::vector<SftExample> examples, uint64_t seed);
  TrainingBatch batch(int64_t step, int batch_size) const override;
  int64_t token_count() const override { return tokens_; }
  int64_t items_per_epoch() const override { return static_cast<int64_t>(examples_.size()); }

 private:
  std::vector<SftExample> examples_;
  uint64_t seed_;
  int64_t tokens_ = 0;
};

}  // namespace frugal
