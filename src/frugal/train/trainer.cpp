#include "frugal/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/core/line_chart.h"
#include "frugal/core/thread_pool.h"
#include "frugal/data/token_dataset.h"
#include "frugal/tokenizer/tokenizer.h"
#include "frugal/train/routing_bias.h"
#include "frugal/train/run_folder.h"
#include "frugal/train/sft_examples.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

json options_to_json(const TrainOptions& o) {
  return {{"model_dir", o.model_dir},
          {"data_dir", o.data_dir},
          {"sft_examples", o.sft_examples},
          {"sft_held_out", o.sft_held_out},
          {"steps", o.steps},
          {"batch", o.batch},
          {"seq_len", o.seq_len},
          {"schedule", to_string(o.schedule.kind)},
          {"lr", o.schedule.peak},
          {"min_lr_ratio", o.schedule.floor_ratio},
          {"warmup", o.schedule.warmup_steps},
          {"decay_fraction", o.schedule.decay_fraction},
          {"beta1", o.adamw.beta1},
          {"beta2", o.adamw.beta2},
          {"adam_eps", o.adamw.eps},
          {"weight_decay", o.adamw.weight_decay},
          {"decay_all", o.adamw.decay == DecayRule::All},
          {"clip", o.clip_norm},
          {"mtp_weight", o.loss.mtp_weight},
          {"balance_alpha", o.loss.balance_alpha},
          {"bias_gamma", o.bias_gamma},
          {"eval_every", o.eval_every},
          {"eval_batches", o.eval_batches},
          {"save_every", o.save_every},
          {"keep", o.keep_checkpoints},
          {"seed", o.seed}};
}

// The options a run was started with, for --resume (`steps` may be extended).
TrainOptions options_from_json(const json& j, const TrainOptions& given) {
  TrainOptions o = given;
  o.model_dir = j.at("model_dir");
  o.data_dir = j.at("data_dir");
  o.sft_examples = j.at("sft_examples");
  o.sft_held_out = j.at("sft_held_out");
  if (given.steps <= 0) o.steps = j.at("steps");
  o.batch = j.at("batch");
  o.seq_len = j.at("seq_len");
  o.schedule.kind = parse_schedule_kind(j.at("schedule"));
  o.schedule.peak = j.at("lr");
  o.schedule.floor_ratio = j.at("min_lr_ratio");
  o.schedule.warmup_steps = j.at("warmup");
  o.schedule.decay_fraction = j.at("decay_fraction");
  o.adamw.beta1 = j.at("beta1");
  o.adamw.beta2 = j.at("beta2");
  o.adamw.eps = j.at("adam_eps");
  o.adamw.weight_decay = j.at("weight_decay");
  o.adamw.decay = j.at("decay_all").get<bool>() ? DecayRule::All : DecayRule::Matrices;
  o.clip_norm = j.at("clip");
  o.loss.mtp_weight = j.at("mtp_weight");
  o.loss.balance_alpha = j.at("balance_alpha");
  o.bias_gamma = j.at("bias_gamma");
  o.eval_every = j.at("eval_every");
  o.eval_batches = j.at("eval_batches");
  o.save_every = j.at("save_every");
  o.keep_checkpoints = j.at("keep");
  o.seed = j.at("seed");
  return o;
}

// Per MoE layer, its busiest expert's load over the mean load (1 = even,
// E/K = every token on the same K experts).
std::vector<std::pair<int, double>> load_imbalance(const StepLosses& losses) {
  std::vector<std::pair<int, double>> ratios;
  for (const auto& [layer, load] : losses.expert_loads) {
    double sum = 0.0, max = 0.0;
    for (int64_t l : load) sum += static_cast<double>(l), max = std::max(max, static_cast<double>(l));
    ratios.emplace_back(layer, sum > 0 ? max / (sum / static_cast<double>(load.size())) : 0.0);
  }
  return ratios;
}

// Held-out cross-entropy of a unigram model fitted on the training tokens
// (add-one smoothing): the baseline a trained model must beat.
double unigram_baseline(const TokenDataset& train, const TokenDataset& heldout, int vocab) {
  std::vector<double> counts(static_cast<std::size_t>(vocab), 1.0);
  for (int32_t t : train.tokens()) counts[t] += 1.0;
  const double total = static_cast<double>(train.token_count()) + vocab;
  double loss = 0.0;
  for (int32_t t : heldout.tokens()) loss -= std::log(counts[t] / total);
  return loss / static_cast<double>(std::max<int64_t>(1, heldout.token_count()));
}

// Pre-training windows: the loss counts every next token.
class PackedSource : public BatchSource {
 public:
  PackedSource(const std::string& path, int64_t seq_len, uint64_t seed)
      : dataset_(TokenDataset::open(path)), batches_(dataset_, seq_len, seed) {}
  TrainingBatch batch(int64_t step, int batch_size) const override {
    TrainingBatch b;
    b.sequences = batches_.batch(step, batch_size);
    b.loss_starts.assign(b.sequences.size(), 1);
    return b;
  }
  int64_t token_count() const override { return dataset_.token_count(); }
  int64_t items_per_epoch() const override { return batches_.windows(); }
  const TokenDataset& dataset() const { return dataset_; }

 private:
  TokenDataset dataset_;
  PackedBatches batches_;
};

using clock = std::chrono::steady_clock;

class TrainingRun {
 public:
  explicit TrainingRun(TrainOptions options) : o_(std::move(options)) {}

  std::string run();

 private:
  void open_output();
  void open_data();
  void evaluate(int64_t step);
  void save(int64_t step);
  void log(const json& record);
  void draw() const;

  TrainOptions o_;
  int64_t start_step_ = 0;
  std::optional<RunFolder> folder_;
  std::optional<ParameterStore> store_;
  std::optional<TrainableModel> model_;
  std::optional<AdamW> optimizer_;
  std::unique_ptr<BatchSource> train_batches_, heldout_batches_;
  std::vector<double> train_x_, train_y_, heldout_x_, heldout_y_;
  double baseline_ = 0.0;
  double elapsed_offset_ = 0.0;  // wall time of the run before a resume
  clock::time_point began_ = clock::now();
};

void TrainingRun::open_output() {
  folder_.emplace(o_.out_dir, o_.resume);
  if (o_.resume) {
    start_step_ = folder_->read_state("trainer_state.json", [&](const json& saved) { o_ = options_from_json(saved, o_); });
  } else if (o_.steps <= 0) {
    o_.steps = 1000;
  }
  for (const json& record : folder_->open_log(start_step_)) {
    if (record.contains("loss")) train_x_.push_back(record["step"]), train_y_.push_back(record["loss"]);
    if (record.contains("elapsed_s")) elapsed_offset_ = record["elapsed_s"];
    if (record.contains("heldout_ce")) heldout_x_.push_back(record["step"]), heldout_y_.push_back(record["heldout_ce"]);
  }
}

void TrainingRun::log(const json& record) { folder_->log(record); }

void TrainingRun::draw() const {
  LineChart chart;
  chart.title = "frugal train: loss";
  chart.x_label = "step";
  chart.y_label = "cross-entropy (nats/token)";
  chart.series.push_back({"train total loss", train_x_, train_y_});
  chart.series.push_back({"held-out next-token loss", heldout_x_, heldout_y_});
  if (baseline_ > 0 && !train_x_.empty())
    chart.series.push_back({"unigram baseline", {train_x_.front(), train_x_.back()}, {baseline_, baseline_}});
  chart.write((fs::path(o_.out_dir) / "loss.svg").string());
}

void TrainingRun::evaluate(int64_t step) {
  double ce = 0.0, mtp = 0.0;
  int64_t ce_tokens = 0, mtp_tokens = 0;
  for (int b = 0; b < o_.eval_batches; ++b) {
    const TrainingBatch batch = heldout_batches_->batch(b, o_.batch);
    const StepLosses l = model_->evaluate(batch.sequences, o_.loss, batch.loss_starts);
    ce += l.ce * static_cast<double>(l.ce_tokens);
    mtp += l.mtp * static_cast<double>(l.mtp_tokens);
    ce_tokens += l.ce_tokens;
    mtp_tokens += l.mtp_tokens;
  }
  ce /= std::max<int64_t>(1, ce_tokens);
  mtp /= std::max<int64_t>(1, mtp_tokens);
  std::fprintf(stderr, "eval step %lld: held-out ce %.4f  mtp %.4f", static_cast<long long>(step), ce, mtp);
  if (baseline_ > 0) std::fprintf(stderr, "  (unigram baseline %.4f)", baseline_);
  std::fputc('\n', stderr);
  json record = {{"step", step}, {"heldout_ce", ce}, {"heldout_mtp", mtp}};
  if (baseline_ > 0) record["unigram_baseline"] = baseline_;
  log(record);
  heldout_x_.push_back(static_cast<double>(step));
  heldout_y_.push_back(ce);
  draw();
}

void TrainingRun::save(int64_t step) {
  const std::string dir = folder_->save_checkpoint(step, o_.keep_checkpoints, [&](const std::string& partial) {
    store_->save(partial, DType::F32);  // float32: a resumed run continues bit for bit
    optimizer_->save_state(partial + "/optimizer.safetensors");
    RunFolder::write_state(partial, "trainer_state.json", step, options_to_json(o_));
    for (const std::string& source : {o_.model_dir, o_.data_dir})
      for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
        if (!source.empty() && fs::exists(fs::path(source) / file) && !fs::exists(fs::path(partial) / file))
          fs::copy_file(fs::path(source) / file, fs::path(partial) / file);
  });
  std::fprintf(stderr, "saved %s\n", dir.c_str());
}

void TrainingRun::open_data() {
  const int vocab = store_->config().vocab_size;
  if (!o_.sft_examples.empty()) {
    const Tokenizer tokenizer = Tokenizer::load(o_.model_dir);
    std::vector<SftExample> train, held_out;
    split_sft_examples(load_sft_examples(o_.sft_examples, tokenizer, store_->config().max_position_embeddings),
                       o_.sft_held_out, o_.seed, train, held_out);
    for (const auto* part : {&train, &held_out})
      for (const SftExample& e : *part)
        for (int32_t t : e.tokens)
          if (t >= vocab) fail(o_.sft_examples, ": the tokenizer gives id ", t, " but the model's vocab_size is ", vocab);
    train_batches_ = std::make_unique<SftBatches>(std::move(train), o_.seed);
    heldout_batches_ = std::make_unique<SftBatches>(std::move(held_out), o_.seed + 1);
    return;
  }
  auto train = std::make_unique<PackedSource>(o_.data_dir + "/train.safetensors", o_.seq_len, o_.seed);
  auto heldout = std::make_unique<PackedSource>(o_.data_dir + "/heldout.safetensors", o_.seq_len, o_.seed + 1);
  for (const PackedSource* d : {train.get(), heldout.get()})
    if (d->dataset().max_token_id() >= vocab)
      fail(o_.data_dir, ": the data uses token id ", d->dataset().max_token_id(), " but the model's vocab_size is ", vocab);
  baseline_ = unigram_baseline(train->dataset(), heldout->dataset(), vocab);
  train_batches_ = std::move(train);
  heldout_batches_ = std::move(heldout);
}

std::string TrainingRun::run() {
  open_output();
  store_.emplace(ParameterStore::load(o_.resume ? folder_->resume_checkpoint() : o_.model_dir));
  model_.emplace(*store_);
  optimizer_.emplace(*store_, o_.adamw);
  if (o_.resume) optimizer_->load_state(folder_->resume_checkpoint() + "/optimizer.safetensors");

  open_data();
  o_.schedule.total_steps = o_.steps;

  std::fprintf(stderr,
               "training %lld parameters for %lld steps of %d x %lld tokens on %d threads "
               "(%lld training tokens, %lld sequences per epoch)%s\n",
               static_cast<long long>(store_->trainable_count()), static_cast<long long>(o_.steps), o_.batch,
               static_cast<long long>(o_.seq_len), ThreadPool::global().num_threads(),
               static_cast<long long>(train_batches_->token_count()),
               static_cast<long long>(train_batches_->items_per_epoch()), o_.resume ? " (resumed)" : "");
  if (!o_.resume) {
    log({{"step", 0}, {"event", "start"}, {"options", options_to_json(o_)}, {"unigram_baseline", baseline_}});
    evaluate(0);
  }

  using clock = std::chrono::steady_clock;
  const int64_t last = o_.stop_after > 0 ? std::min(o_.stop_after, o_.steps) : o_.steps;
  for (int64_t step = start_step_; step < last; ++step) {
    const auto began = clock::now();
    store_->zero_grad();
    const TrainingBatch batch = train_batches_->batch(step, o_.batch);
    const StepLosses losses = model_->forward_backward(batch.sequences, o_.loss, batch.loss_starts);
    if (!std::isfinite(losses.total))
      fail("the loss became ", losses.total, " at step ", step + 1, "; lower --lr or raise --warmup");
    const double grad_norm = clip_gradient_norm(*store_, o_.clip_norm);
    const double lr = o_.schedule.at(step);
    optimizer_->step(lr);
    if (o_.bias_gamma > 0) update_routing_bias(*store_, losses.expert_loads, o_.bias_gamma);
    const double seconds = std::chrono::duration<double>(clock::now() - began).count();
    int64_t tokens = 0;
    for (const auto& sequence : batch.sequences) tokens += static_cast<int64_t>(sequence.size());
    const double tokens_per_s = static_cast<double>(tokens) / seconds;
    json layer_load = json::object();
    double imbalance = 0.0;
    for (const auto& [layer, ratio] : load_imbalance(losses)) {
      layer_load[std::to_string(layer)] = ratio;
      imbalance = std::max(imbalance, ratio);
    }

    const int64_t done = step + 1;
    log({{"step", done}, {"loss", losses.total}, {"ce", losses.ce}, {"mtp", losses.mtp},
         {"balance", losses.balance}, {"lr", lr}, {"grad_norm", grad_norm}, {"tokens_per_s", tokens_per_s},
         {"max_over_mean_load", imbalance}, {"layer_max_over_mean_load", layer_load},
         {"elapsed_s", elapsed_offset_ + std::chrono::duration<double>(clock::now() - began_).count()}});
    train_x_.push_back(static_cast<double>(done));
    train_y_.push_back(losses.total);
    if (done % o_.print_every == 0 || done == last)
      std::fprintf(stderr,
                   "step %lld/%lld  loss %.4f (ce %.4f mtp %.4f bal %.2e)  lr %.2e  |g| %.3f  "
                   "load max/mean %.2f  %.0f tok/s\n",
                   static_cast<long long>(done), static_cast<long long>(o_.steps), losses.total, losses.ce,
                   losses.mtp, losses.balance, lr, grad_norm, imbalance, tokens_per_s);
    if (RunFolder::due(done, o_.eval_every, o_.steps)) evaluate(done);
    else if (done % 25 == 0) draw();
    if (RunFolder::due(done, o_.save_every, last)) save(done);
  }
  draw();
  return (fs::path(o_.out_dir) / RunFolder::step_name(std::max(last, start_step_))).string();
}

}  // namespace

std::string run_training(TrainOptions options) { return TrainingRun(std::move(options)).run(); }

}  // namespace frugal
