// frugal grad --model DIR --inputs INPUTS.json --out OUT.safetensors
//             [--mtp-weight 0.3] [--balance-alpha 1e-4] [--threads N]
// Stable interface. Runs the training forward and backward pass over all
// sequences of INPUTS.json together and writes the losses (loss.ce,
// loss.mtp, loss.total, loss.balance, shape [1] each) and the gradient of
// loss.total = ce + mtp_weight * mtp for every trainable tensor, as
// grad.<checkpoint tensor name>. As in the goldens, the balance loss is
// reported but is not part of loss.total.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/io/checkpoint.h"
#include "frugal/io/safetensors.h"
#include "frugal/train/token_sequences.h"
#include "frugal/train/trainable_model.h"

namespace frugal::cli {
namespace {

struct GradOptions {
  std::string model, inputs, out;
  double mtp_weight = 0.3;
  double balance_alpha = 1e-4;
  int threads = 0;
};

int run_grad(const GradOptions& o) {
  if (o.threads > 0) ThreadPool::set_global_threads(o.threads);
  const std::vector<std::vector<int32_t>> sequences = read_token_sequences(o.inputs);
  ParameterStore store = ParameterStore::load(o.model);
  TrainableModel model(store);
  LossOptions loss_options;
  loss_options.mtp_weight = o.mtp_weight;
  loss_options.balance_alpha = o.balance_alpha;
  loss_options.balance_in_loss = false;
  const StepLosses losses = model.forward_backward(sequences, loss_options);

  const std::vector<std::pair<std::string, float>> scalars = {
      {"loss.ce", static_cast<float>(losses.ce)},
      {"loss.mtp", static_cast<float>(losses.mtp)},
      {"loss.total", static_cast<float>(losses.total)},
      {"loss.balance", static_cast<float>(losses.balance)}};
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, value] : scalars) tensors.push_back({name, DType::F32, {1}, &value});
  std::vector<std::string> names;
  names.reserve(store.all().size());
  for (const Parameter& p : store.all()) {
    if (!p.trainable()) continue;
    names.push_back("grad." + p.name);
    tensors.push_back({names.back(), DType::F32, p.shape, p.grad.data()});
  }
  write_safetensors(o.out, tensors, {{"format", "pt"}});
  std::printf("loss.ce %.8f  loss.mtp %.8f  loss.total %.8f  loss.balance %.6e\n", losses.ce, losses.mtp,
              losses.total, losses.balance);
  std::fprintf(stderr, "wrote %zu gradients for %zu sequences (%lld predicted positions) to %s\n", names.size(),
               sequences.size(), static_cast<long long>(losses.ce_tokens), o.out.c_str());
  return 0;
}

}  // namespace

Runner add_grad_command(CLI::App& app) {
  auto o = std::make_shared<GradOptions>();
  CLI::App* command = app.add_subcommand("grad", "Write the losses and every parameter's gradient for a batch");
  command->add_option("--model", o->model, "Checkpoint folder")->required();
  command->add_option("--inputs", o->inputs, "JSON with \"sequences\": lists of token ids")->required();
  command->add_option("--out", o->out, "Output .safetensors file")->required();
  command->add_option("--mtp-weight", o->mtp_weight, "lambda in loss.total = ce + lambda * mtp")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->add_option("--balance-alpha", o->balance_alpha, "alpha of the reported balance loss")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::PositiveNumber);
  return [o] { return run_grad(*o); };
}

}  // namespace frugal::cli
