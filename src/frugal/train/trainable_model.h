#pragma once
// The whole DeepSeek model for training: forward over a batch of packed
// sequences, the losses of spec section 8 (next-token cross-entropy, MTP
// cross-entropy, sequence-wise balance loss) and the backward pass that adds
// every parameter's gradient into the ParameterStore.
#include <cstdint>
#include <optional>
#include <vector>

#include "frugal/train/attention.h"
#include "frugal/train/feed_forward.h"
#include "frugal/train/mixture.h"
#include "frugal/train/parameters.h"

namespace frugal {

struct LossOptions {
  double mtp_weight = 0.3;      // lambda: total = CE + lambda * MTP CE (+ balance)
  double balance_alpha = 1e-4;  // alpha of the sequence-wise balance loss
  bool balance_in_loss = true;  // false: balance reported, but neither in total nor in the gradient
};

struct StepLosses {
  double ce = 0.0;       // mean next-token cross-entropy
  double mtp = 0.0;      // mean MTP cross-entropy (module 1)
  double balance = 0.0;  // balance loss summed over the main MoE layers, averaged over sequences
  double total = 0.0;
  int64_t ce_tokens = 0;   // positions with a next-token target
  int64_t mtp_tokens = 0;  // positions with an MTP target
  // Tokens routed to each expert, per MoE layer (checkpoint layer index).
  std::vector<std::pair<int, std::vector<int64_t>>> expert_loads;
};

class TrainableModel {
 public:
  // Binds every parameter; fails for configs training does not support.
  explicit TrainableModel(ParameterStore& store);

  // Forward and backward over `sequences` (each at least 2 tokens); the
  // gradients of the loss are added to the store's.
  StepLosses forward_backward(const std::vector<std::vector<int32_t>>& sequences, const LossOptions& options);
  // Forward only.
  StepLosses evaluate(const std::vector<std::vector<int32_t>>& sequences, const LossOptions& options);

 private:
  struct DecoderLayer {
    int index = 0;
    Parameter* input_norm = nullptr;
    Parameter* post_attention_norm = nullptr;
    AttentionParams attention;
    std::optional<FeedForwardParams> dense;
    std::optional<MixtureParams> mixture;
  };
  struct DecoderTape {
    NormTape input_norm, post_attention_norm;
    std::vector<float> attention_in, ffn_in;
    AttentionTape attention;
    FeedForwardTape dense;
    MixtureTape mixture;
  };
  struct MtpModule {
    Parameter* embedding_norm = nullptr;
    Parameter* hidden_norm = nullptr;
    Parameter* eh_proj = nullptr;
    Parameter* head_norm = nullptr;
    DecoderLayer layer;
  };

  DecoderLayer bind_layer(int index, bool moe);
  // h [N, D] -> h after the layer; returns the layer's balance-loss sum.
  double layer_forward(const DecoderLayer& layer, std::vector<float>& h, const SequenceSpans& spans,
                       DecoderTape& tape, double balance_alpha);
  // dh: gradient after the layer in, gradient before it out.
  void layer_backward(const DecoderLayer& layer, const DecoderTape& tape, const SequenceSpans& spans,
                      std::vector<float>& dh, double balance_alpha, double balance_grad_scale);
  StepLosses run(const std::vector<std::vector<int32_t>>& sequences, const LossOptions& options, bool backward);

  ParameterStore& store_;
  Config config_;
  Attention attention_;
  Parameter* embedding_ = nullptr;
  Parameter* final_norm_ = nullptr;
  Parameter* lm_head_ = nullptr;
  std::vector<DecoderLayer> layers_;
  std::optional<MtpModule> mtp_;
};

}  // namespace frugal
