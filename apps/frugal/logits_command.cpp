// frugal logits --model DIR --inputs INPUTS.json --out OUT.safetensors
//               [--decode] [--threads N] [--attention naive|absorbed] [--weights auto|bf16|fp8|q8|q4]
//               [--kv-cache f32|bf16|q8] [--trace]
// Stable interface: writes F32 logits.seq{n} [T, V] and, for models with MTP,
// mtp{k}_logits.seq{n} [T-k, V].
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/io/safetensors.h"
#include "frugal/model/model.h"
#include "kv_cache_flag.h"

namespace frugal::cli {
namespace {

struct LogitsOptions {
  std::string model;
  std::string inputs;
  std::string out;
  bool decode = false;
  bool trace = false;
  int threads = 0;
  std::string attention = "naive";
  std::string kv_cache = "f32";
  std::string weights = "auto";
};

std::vector<std::vector<int32_t>> read_sequences(const std::string& path) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
  if (!root.is_object() || !root.contains("sequences") || !root["sequences"].is_array())
    fail(path, ": expected an object with \"sequences\": [[token ids...], ...]");
  std::vector<std::vector<int32_t>> sequences;
  for (std::size_t n = 0; n < root["sequences"].size(); ++n) {
    const auto& seq = root["sequences"][n];
    if (!seq.is_array() || seq.empty()) fail(path, ": sequences[", n, "] must be a non-empty array of token ids");
    std::vector<int32_t> ids;
    for (std::size_t t = 0; t < seq.size(); ++t) {
      if (!seq[t].is_number_integer() || seq[t].get<int64_t>() < 0 || seq[t].get<int64_t>() > INT32_MAX)
        fail(path, ": sequences[", n, "][", t, "] is not a token id: ", seq[t].dump());
      ids.push_back(static_cast<int32_t>(seq[t].get<int64_t>()));
    }
    sequences.push_back(std::move(ids));
  }
  if (sequences.empty()) fail(path, ": \"sequences\" is empty");
  return sequences;
}

// Checks every sequence before any work: ids inside the vocabulary, lengths
// within the model's context.
void validate_sequences(const std::vector<std::vector<int32_t>>& sequences, const Config& config,
                        const std::string& path) {
  for (std::size_t n = 0; n < sequences.size(); ++n) {
    if (static_cast<int64_t>(sequences[n].size()) > config.max_position_embeddings)
      fail(path, ": sequences[", n, "] has ", sequences[n].size(),
           " tokens, more than the model's max_position_embeddings (", config.max_position_embeddings, ")");
    for (std::size_t t = 0; t < sequences[n].size(); ++t)
      if (sequences[n][t] >= config.vocab_size)
        fail(path, ": sequences[", n, "][", t, "] = ", sequences[n][t], " is outside the vocabulary of ",
             config.vocab_size, " tokens");
  }
}

// Output tensors: shapes and owned float data, written at the end.
struct Outputs {
  std::vector<std::vector<float>> floats;
  std::vector<std::vector<int32_t>> ints;
  std::vector<TensorToWrite> tensors;

  void add(const std::string& name, std::vector<int64_t> shape, std::vector<float> data) {
    floats.push_back(std::move(data));
    tensors.push_back({name, DType::F32, std::move(shape), nullptr});
    tensors.back().data = floats.back().data();
  }
  void add(const std::string& name, std::vector<int64_t> shape, std::vector<int32_t> data) {
    ints.push_back(std::move(data));
    tensors.push_back({name, DType::I32, std::move(shape), nullptr});
    tensors.back().data = ints.back().data();
  }
};

// Golden-style names: "hidden.layer3" -> "hidden.seq0.layer3",
// "routing.layer1.ids" -> "routing.seq0.layer1.ids", "mtp1_hidden" -> "mtp1_hidden.seq0".
std::string trace_name(const std::string& name, std::size_t seq) {
  const std::string tag = "seq" + std::to_string(seq);
  const auto dot = name.find('.');
  if (dot == std::string::npos) return name + "." + tag;
  return name.substr(0, dot) + "." + tag + name.substr(dot);
}

void run_sequence(const Model& model, const std::vector<int32_t>& tokens, std::size_t seq,
                  const LogitsOptions& options, Outputs& outputs) {
  const Config& c = model.config();
  const auto T = static_cast<int64_t>(tokens.size());
  const int64_t V = c.vocab_size, D = c.hidden_size;
  const int K = model.mtp_modules();
  KvCache cache = model.new_cache(T, parse_kv_cache_dtype(options.kv_cache, T));
  ForwardTrace trace;
  ForwardOptions forward_options;
  forward_options.prefill_attention =
      options.attention == "absorbed" ? AttentionForm::Absorbed : AttentionForm::Naive;
  if (options.trace) forward_options.trace = &trace;

  std::vector<float> logits(static_cast<std::size_t>(T * V));
  // mtp_logits[k-1] has T-k rows: row i scores token i+k+1.
  std::vector<std::vector<float>> mtp_logits(static_cast<std::size_t>(K));
  for (int k = 1; k <= K; ++k) mtp_logits[k - 1].resize(static_cast<std::size_t>(std::max<int64_t>(T - k, 0) * V));

  if (!options.decode) {
    std::vector<float> hidden(static_cast<std::size_t>(T * D)), next(hidden.size());
    model.forward(tokens.data(), T, cache, logits.data(), hidden.data(), forward_options);
    for (int k = 1; k <= K && T - k > 0; ++k) {
      model.mtp_forward(k, hidden.data(), tokens.data() + k, T - k, cache,
                        mtp_logits[k - 1].data(), next.data(), forward_options);
      std::swap(hidden, next);
    }
  } else {
    // Feed one token at a time. Module k handles position j-k at step j: it
    // combines the previous step's hidden state of module k-1 (the main model
    // for k = 1) with token j.
    std::vector<std::vector<float>> previous(static_cast<std::size_t>(K + 1), std::vector<float>(D));
    std::vector<float> current(static_cast<std::size_t>(D));
    for (int64_t j = 0; j < T; ++j) {
      for (int k = std::min<int64_t>(K, j); k >= 1; --k) {
        model.mtp_forward(k, previous[k - 1].data(), &tokens[j], 1, cache,
                          mtp_logits[k - 1].data() + (j - k) * V, previous[k].data(), forward_options);
      }
      model.forward(&tokens[j], 1, cache, logits.data() + j * V, current.data(), forward_options);
      previous[0] = current;
    }
  }

  const std::string tag = ".seq" + std::to_string(seq);
  outputs.add("logits" + tag, {T, V}, std::move(logits));
  for (int k = 1; k <= K; ++k)
    outputs.add("mtp" + std::to_string(k) + "_logits" + tag, {std::max<int64_t>(T - k, 0), V},
                std::move(mtp_logits[k - 1]));
  for (auto& [name, values] : trace.values) {
    const int64_t width = name.rfind("routing.", 0) == 0 ? c.num_experts_per_tok : D;
    const auto rows = static_cast<int64_t>(values.size()) / width;
    outputs.add(trace_name(name, seq), {rows, width}, std::move(values));
  }
  for (auto& [name, ids] : trace.ids) {
    const auto rows = static_cast<int64_t>(ids.size()) / c.num_experts_per_tok;
    outputs.add(trace_name(name, seq), {rows, c.num_experts_per_tok}, std::move(ids));
  }
}

int run_logits(const LogitsOptions& options) {
  if (options.threads > 0) ThreadPool::set_global_threads(options.threads);
  const auto sequences = read_sequences(options.inputs);
  const std::filesystem::path out_dir = std::filesystem::absolute(options.out).parent_path();
  if (!std::filesystem::is_directory(out_dir))
    fail(options.out, ": the output folder ", out_dir.string(), " does not exist");
  const auto load_start = std::chrono::steady_clock::now();
  const Model model(options.model, parse_weight_format(options.weights));
  validate_sequences(sequences, model.config(), options.inputs);
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
  std::fprintf(stderr, "loaded %s (%s) in %.0f ms; %zu sequence(s), %s, %d thread(s)\n",
               options.model.c_str(), model.config().family_name().c_str(), load_ms, sequences.size(),
               options.decode ? "token-by-token decode" : "prefill", ThreadPool::global().num_threads());

  Outputs outputs;
  for (std::size_t n = 0; n < sequences.size(); ++n) {
    const auto start = std::chrono::steady_clock::now();
    run_sequence(model, sequences[n], n, options, outputs);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "sequence %zu/%zu: %zu tokens in %.1f ms (%.1f tokens/s)\n", n + 1,
                 sequences.size(), sequences[n].size(), ms, sequences[n].size() * 1000.0 / ms);
  }
  write_safetensors(options.out, outputs.tensors, {{"producer", "frugal logits"}});
  std::fprintf(stderr, "wrote %zu tensors to %s\n", outputs.tensors.size(), options.out.c_str());
  return 0;
}

}  // namespace

Runner add_logits_command(CLI::App& app) {
  auto options = std::make_shared<LogitsOptions>();
  CLI::App* command = app.add_subcommand("logits", "Compute logits (and MTP logits) for token sequences");
  command->add_option("--model", options->model, "Hugging Face checkpoint folder")->required();
  command->add_option("--inputs", options->inputs, "JSON file with \"sequences\": [[ids...], ...]")->required();
  command->add_option("--out", options->out, "Output .safetensors file")->required();
  command->add_flag("--decode", options->decode, "Feed tokens one at a time through the latent KV cache");
  command->add_option("--threads", options->threads, "Worker threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
  command->add_option("--attention", options->attention, "Prefill attention form")
      ->check(CLI::IsMember({"naive", "absorbed"}));
  command->add_option("--weights", options->weights, "Weight format in memory (auto: as stored)")
      ->check(CLI::IsMember(weight_format_names()));
  add_kv_cache_option(*command, options->kv_cache);
  command->add_flag("--trace", options->trace,
                    "Also write hidden states and routing per layer (golden names)");
  return [options] { return run_logits(*options); };
}

}  // namespace frugal::cli
