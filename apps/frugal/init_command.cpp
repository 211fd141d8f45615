// frugal init (--preset v2-lite|v2|v3|tiny | --config FILE) [--layers N] [--experts N]
//             [--hidden N] [--vocab N] [--dtype bf16|f32|fp8] [--seed S] [--std X]
//             [--tokenizer PATH] --out DIR
// Writes a random-initialised checkpoint in the Hugging Face layout. With
// --tokenizer the tokenizer files are copied in and the vocabulary grows to
// hold every token id.
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/io/checkpoint.h"
#include "frugal/model/init.h"
#include "frugal/tokenizer/tokenizer.h"

namespace frugal::cli {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct InitCommandOptions {
  std::string preset;
  std::string config;
  std::string out;
  std::string tokenizer;
  std::string dtype = "bf16";
  int layers = 0, experts = 0, hidden = 0, vocab = 0;
  uint64_t seed = 0;
  double init_std = 0.006;
};

int run_init(const InitCommandOptions& o) {
  if (o.preset.empty() == o.config.empty()) fail("give exactly one of --preset and --config");
  json config;
  if (!o.preset.empty()) {
    config = preset_config(o.preset);
  } else {
    try {
      config = json::parse(read_text_file(o.config));
    } catch (const json::exception& e) {
      fail(o.config, ": not valid JSON: ", e.what());
    }
  }
  if (o.layers > 0) {
    config["num_hidden_layers"] = o.layers;
    const int dense = config.value("first_k_dense_replace", 0);
    config["first_k_dense_replace"] = std::min(dense, o.layers);
  }
  if (o.experts > 0) config["n_routed_experts"] = o.experts;
  if (o.hidden > 0) config["hidden_size"] = o.hidden;
  if (o.vocab > 0) config["vocab_size"] = o.vocab;

  std::optional<Tokenizer> tokenizer;
  if (!o.tokenizer.empty()) {
    tokenizer = Tokenizer::load(o.tokenizer);
    if (config.value("vocab_size", 0) < tokenizer->vocab_size()) {
      if (o.vocab > 0)
        fail("--vocab ", o.vocab, " is smaller than the tokenizer's ", tokenizer->vocab_size(), " tokens");
      config["vocab_size"] = tokenizer->vocab_size();
    }
    if (tokenizer->bos_id()) config["bos_token_id"] = *tokenizer->bos_id();
    if (tokenizer->eos_id()) config["eos_token_id"] = *tokenizer->eos_id();
  }

  InitOptions options;
  options.seed = o.seed;
  options.init_std = o.init_std;
  options.dtype = o.dtype == "f32" ? DType::F32 : (o.dtype == "fp8" ? DType::F8_E4M3 : DType::BF16);
  config["torch_dtype"] = o.dtype == "f32" ? "float32" : "bfloat16";
  if (o.dtype == "fp8") {  // as DeepSeek-V3's release: E4M3 with 128 x 128 block scales
    config["quantization_config"] = {{"quant_method", "fp8"}, {"fmt", "e4m3"}, {"activation_scheme", "dynamic"},
                                     {"weight_block_size", {128, 128}}};
  } else {
    config.erase("quantization_config");
  }
  write_random_checkpoint(config, o.out, options);

  if (tokenizer) {
    const fs::path source = fs::is_directory(o.tokenizer) ? fs::path(o.tokenizer) : fs::path(o.tokenizer).parent_path();
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
      if (fs::exists(source / file)) fs::copy_file(source / file, fs::path(o.out) / file, fs::copy_options::overwrite_existing);
  }
  std::fprintf(stderr, "wrote a random %s checkpoint to %s\n", o.preset.empty() ? "custom" : o.preset.c_str(),
               o.out.c_str());
  return 0;
}

}  // namespace

Runner add_init_command(CLI::App& app) {
  auto o = std::make_shared<InitCommandOptions>();
  CLI::App* command = app.add_subcommand("init", "Write a random-initialised checkpoint");
  command->add_option("--preset", o->preset, "Model shape")->check(CLI::IsMember({"v2-lite", "v2", "v3", "tiny"}));
  command->add_option("--config", o->config, "config.json to start from instead of a preset");
  command->add_option("--layers", o->layers, "Override num_hidden_layers")->check(CLI::PositiveNumber);
  command->add_option("--experts", o->experts, "Override n_routed_experts")->check(CLI::PositiveNumber);
  command->add_option("--hidden", o->hidden, "Override hidden_size")->check(CLI::PositiveNumber);
  command->add_option("--vocab", o->vocab, "Override vocab_size")->check(CLI::PositiveNumber);
  command->add_option("--dtype", o->dtype, "Stored dtype (fp8: E4M3 linear weights with 128 x 128 block scales)")
      ->check(CLI::IsMember({"bf16", "f32", "fp8"}));
  command->add_option("--seed", o->seed, "Random seed");
  command->add_option("--std", o->init_std, "Standard deviation of the weights")->capture_default_str();
  command->add_option("--tokenizer", o->tokenizer, "Copy this tokenizer in and size the vocabulary for it");
  command->add_option("--out", o->out, "Output folder")->required();
  return [o] { return run_init(*o); };
}

}  // namespace frugal::cli
