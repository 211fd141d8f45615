#pragma once
// The whole DeepSeek model for training: forward over a batch of packed
// sequences, the losses of spec section 8 (next-token cross-entropy, MTP
// cross-entropy, sequence-wise balance loss) and the backward pass that adds
// every parameter's gradient into the ParameterStore.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
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
  int64_t ce_tokens = 0;   // positions whose next token the loss counts
  int64_t mtp_tokens = 0;  // positions whose MTP target the loss counts
  // Tokens routed to each expert, per MoE layer (checkpoint layer index).
  std::vector<std::pair<int, std::vector<int64_t>>> expert_loads;
};

// What forward() computes besides the activations backward() needs.
struct PassOptions {
  bool mtp = true;              // run the MTP module (its loss is part of pre-training)
  double balance_alpha = 1e-4;  // alpha of the reported sequence-wise balance loss
};

class TrainableModel {
 public:
  // Binds every parameter; fails for configs training does not support.
  explicit TrainableModel(ParameterStore& store);
  ~TrainableModel();  // out of line: Pass is private to the implementation

  // The training step's two halves in one: forward, the losses of `options`,
  // backward; the gradients are added to the store's. `loss_starts` (one per
  // sequence, or empty: every token) gives the first token the losses
  // predict, so that supervised fine-tuning learns the completion, not the prompt.
  StepLosses forward_backward(const std::vector<std::vector<int32_t>>& sequences, const LossOptions& options,
                              std::span<const int64_t> loss_starts = {});
  // The same losses, forward only.
  StepLosses evaluate(const std::vector<std::vector<int32_t>>& sequences, const LossOptions& options,
                      std::span<const int64_t> loss_starts = {});

  // Runs the model over `sequences` (each at least 2 tokens), keeping what
  // backward() needs. Returns log p(next token) per packed position: row t
  // of sequence s is at spans().begin(s) + t and scores token t+1; the last
  // row of each sequence has no next token and holds 0.
  std::span<const float> forward(const std::vector<std::vector<int32_t>>& sequences, const PassOptions& options);
  const SequenceSpans& spans() const;
  // With PassOptions::mtp: log p(token t+2) at MTP row t (sequence s's rows
  // start at mtp_spans().begin(s); its last row has no target and holds 0).
  std::span<const float> mtp_log_probs() const;
  const SequenceSpans& mtp_spans() const;
  // Routing and balance of the last forward pass (losses other than balance are 0).
  const StepLosses& routing_stats() const;

  // Adds to the store's gradients the gradient of a loss L given per
  // position dL/dlog p (same layout as forward()'s result; 0 where the loss
  // ignores a token) and, when the MTP module ran, per MTP row (may be empty:
  // no MTP term). `balance_grad_scale` multiplies each sequence's balance term
  // (0: the balance loss is not part of L). Consumes the forward pass.
  void backward(std::span<const float> dloss_dlogp, std::span<const float> dloss_dmtp_logp,
                double balance_grad_scale);

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
  struct Pass;  // the activations of one forward pass

  DecoderLayer bind_layer(int index, bool moe);
  // h [N, D] -> h after the layer; returns the layer's balance-loss sum.
  double layer_forward(const DecoderLayer& layer, std::vector<float>& h, const SequenceSpans& spans,
                       DecoderTape& tape, double balance_alpha);
  // dh: gradient after the layer in, gradient before it out.
  void layer_backward(const DecoderLayer& layer, const DecoderTape& tape, const SequenceSpans& spans,
                      std::vector<float>& dh, double balance_alpha, double balance_grad_scale);
  void mtp_forward(Pass& pass, double balance_alpha);
  // Adds the MTP module's gradient; returns d loss / d (main final hidden state).
  void mtp_backward(Pass& pass, std::span<const float> dloss_dmtp_logp, std::vector<float>& d_final_hidden);
  // The losses of the last forward pass; fills the per-position masks (1 where
  // a position's target is part of the loss).
  StepLosses next_token_losses(const LossOptions& options, std::span<const int64_t> loss_starts,
                               std::vector<float>& mask, std::vector<float>& mtp_mask) const;

  ParameterStore& store_;
  Config config_;
  Attention attention_;
  Parameter* embedding_ = nullptr;
  Parameter* final_norm_ = nullptr;
  Parameter* lm_head_ = nullptr;
  std::vector<DecoderLayer> layers_;
  std::optional<MtpModule> mtp_;
  std::unique_ptr<Pass> pass_;
};

}  // namespace frugal
