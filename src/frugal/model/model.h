#pragma once
// A loaded DeepSeek-V2/V3 model: configuration, weights bound to the mapped
// checkpoint, RoPE tables, and the forward pass of spec section 3 with the
// latent KV cache of section 4 and the MTP modules of section 7.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frugal/io/checkpoint.h"
#include "frugal/model/config.h"
#include "frugal/model/kv_cache.h"
#include "frugal/model/rope.h"
#include "frugal/model/weights.h"

namespace frugal {

// Named intermediate tensors, appended call after call (so a token-by-token
// decode collects the same rows as one prefill). Names follow the goldens:
// "hidden.embed", "hidden.layer{i}", "hidden.final_norm", "mtp{k}_hidden",
// "routing.layer{i}.weights" (floats) and "routing.layer{i}.ids" (ints).
struct ForwardTrace {
  std::map<std::string, std::vector<float>> values;
  std::map<std::string, std::vector<int32_t>> ids;
  void add(const std::string& name, const float* data, int64_t count);
  void add_ids(const std::string& name, const int32_t* data, int64_t count);
};

struct ForwardOptions {
  // Attention form for chunks of more than one token (single tokens always
  // use the absorbed, latent form); unset: prefill_attention_form(config, the
  // cache's dtype, tokens cached, tokens new).
  std::optional<AttentionForm> prefill_attention;
  // Compute logits for the last token only (logits then holds [1, V]): a
  // prompt's prefill needs no others.
  bool last_logits_only = false;
  ForwardTrace* trace = nullptr;
};

class Model {
 public:
  explicit Model(const std::string& checkpoint_dir, WeightFormat weights = WeightFormat::Stored);
  // Over tensors that outlive the model and are read in place (for example
  // the parameters being trained: rollouts then see every update, as long
  // as the model is rebuilt after the norms change, which are copied).
  Model(const TensorSource& tensors, const Config& config);

  const Config& config() const { return config_; }
  // The checkpoint folder the model was loaded from (fails for models built
  // over other tensors).
  const Checkpoint& checkpoint() const;
  const ModelWeights& weights() const { return weights_; }
  WeightFormat weight_format() const { return weight_format_; }
  int mtp_modules() const { return static_cast<int>(weights_.mtp.size()); }

  // A cache for one sequence of up to `capacity` tokens, with a layer for
  // every main layer and MTP module.
  KvCache new_cache(int64_t capacity, DType dtype = DType::F32) const;

  // Runs n tokens that continue the sequence in `cache` (positions
  // cache.filled(0) ..). Writes logits [n, V] when `logits` is given and the
  // final normalised hidden states [n, D] when `final_hidden` is given.
  void forward(const int32_t* tokens, int64_t n, KvCache& cache, float* logits,
               float* final_hidden = nullptr, const ForwardOptions& options = {}) const;

  // One decode step of n independent sequences: tokens[i] continues
  // caches[i] (every main layer). Weights are read once for all n tokens, so
  // sampling a group of completions costs little more than sampling one.
  // Writes logits [n, V].
  void forward_decode_batch(const int32_t* tokens, int64_t n, KvCache* const* caches, float* logits) const;

  // MTP module k (1-based) for n positions continuing its cache layer:
  // row i combines `previous_hidden` row i (the main model's final normalised
  // hidden state for k = 1, module k-1's output otherwise) with the embedding
  // of `next_tokens[i]` (the token k positions ahead). Writes logits [n, V]
  // and, when given, the module's output hidden states [n, D].
  void mtp_forward(int k, const float* previous_hidden, const int32_t* next_tokens, int64_t n,
                   KvCache& cache, float* logits, float* output_hidden = nullptr,
                   const ForwardOptions& options = {}) const;

 private:
  // Rows of embed_tokens; `first` is the position of tokens[0], for errors.
  void embed(const int32_t* tokens, int64_t n, int64_t first, float* out) const;
  // Where a layer's attention reads and writes: n consecutive positions of
  // one sequence from `first`, or (decode batches) one slot per token.
  struct AttentionTarget {
    KvCache* cache = nullptr;
    int64_t first = 0;
    const std::vector<CacheSlot>* slots = nullptr;
    const RopeAngles* slot_angles = nullptr;
  };
  void decoder_layer(const DecoderLayerWeights& layer, int cache_layer, float* h, int64_t n,
                     const AttentionTarget& target, const ForwardOptions& options) const;

  std::unique_ptr<Checkpoint> checkpoint_;
  Config config_;
  ModelWeights weights_;
  RotaryEmbedding rope_;
  WeightFormat weight_format_;
};

}  // namespace frugal
