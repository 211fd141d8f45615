#pragma once
// AdamW with decoupled weight decay (torch.optim.AdamW semantics, spec 8) and
// global-norm gradient clipping. The optimizer state can be saved beside a
// checkpoint and restored so that a resumed run continues exactly.
#include <cstdint>
#include <string>
#include <vector>

#include "frugal/train/parameters.h"

namespace frugal {

enum class DecayRule {
  Matrices,  // weight decay on 2-D tensors (linear weights, embedding, head); none on norms
  All        // every trainable tensor (what the goldens' optimizer step does)
};

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
  DecayRule decay = DecayRule::Matrices;
};

class AdamW {
 public:
  AdamW(ParameterStore& store, const AdamWOptions& options);

  // One update of every trainable parameter from its gradient:
  // p <- p (1 - lr wd) - lr m_hat / (sqrt(v_hat) + eps).
  void step(double lr);
  int64_t steps_taken() const { return step_; }
  bool decays(const Parameter& p) const;

  // The moments and step count as safetensors (adamw.m.<name>, adamw.v.<name>,
  // adamw.step); load fails unless every tensor matches the store.
  void save_state(const std::string& path) const;
  void load_state(const std::string& path);

 private:
  ParameterStore& store_;
  AdamWOptions options_;
  int64_t step_ = 0;
  std::vector<std::vector<float>> m_, v_;  // aligned with store.all()
};

// Scales all gradients so that their global L2 norm is at most max_norm
// (no-op when max_norm <= 0); returns the norm before clipping.
double clip_gradient_norm(ParameterStore& store, double max_norm);

}  // namespace frugal
