// frugal train-tokenizer --vocab N --input FILE [FILE...] --out DIR
//                        [--special TOKEN ...] [--min-frequency 2]
//                        [--digit-group 1|2|3] [--model-max-length 131072] [--threads N]
// Trains a byte-level BPE tokenizer with DeepSeek-V3's pre-tokenizer and
// writes DIR/tokenizer.json and DIR/tokenizer_config.json. Ids: 0 BOS, 1 EOS,
// then the --special tokens, the 256 bytes, the merges (bpe_trainer.h).
// Invalid UTF-8 in the input is replaced by U+FFFD with a warning.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "frugal/tokenizer/chat_format.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/tokenizer/bpe_trainer.h"
#include "frugal/tokenizer/piece_counts.h"
#include "frugal/tokenizer/tokenizer_writer.h"

namespace frugal::cli {
namespace {

struct TrainTokenizerOptions {
  int vocab = 0;
  std::vector<std::string> inputs;
  std::string out;
  std::vector<std::string> specials;
  int64_t min_frequency = 2;
  int64_t model_max_length = 131072;
  int digit_group = 3;
  int threads = 0;
  std::string chat_format = "none";
};

int run_train_tokenizer(const TrainTokenizerOptions& o) {
  if (o.threads > 0) ThreadPool::set_global_threads(o.threads);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> specials = special_tokens_with_bos_eos(o.specials);
  // Checked before reading anything: the corpus may take a while.
  if (o.vocab < static_cast<int>(specials.size()) + 256)
    fail("--vocab ", o.vocab, " is too small: the 256 byte tokens and ", specials.size(),
         " special tokens need at least ", specials.size() + 256);

  PieceCounter counter(specials, 1 << 20, o.digit_group);
  for (const std::string& input : o.inputs) counter.add_file(input, /*progress=*/true);

  BpeTrainerOptions options;
  options.vocab_size = o.vocab;
  options.min_frequency = o.min_frequency;
  options.progress = true;
  TrainedBpe bpe = train_bpe(counter.counts(), specials, options);
  bpe.digit_group = o.digit_group;
  write_trained_tokenizer(bpe, o.out, o.model_max_length, o.chat_format == "compact" ? compact_chat_template() : "");

  if (!bpe.stopped_early.empty())
    std::fprintf(stderr, "warning: stopped at %d tokens, fewer than --vocab %d: %s\n", bpe.vocab_size(), o.vocab,
                 bpe.stopped_early.c_str());
  std::fprintf(stderr,
               "wrote %s/tokenizer.json: %d tokens (%zu special, 256 bytes, %zu merges) from %.1f MB of text "
               "in %.1f s\n",
               o.out.c_str(), bpe.vocab_size(), specials.size(), bpe.merges.size(),
               static_cast<double>(counter.bytes()) / 1e6,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

}  // namespace

Runner add_train_tokenizer_command(CLI::App& app) {
  auto o = std::make_shared<TrainTokenizerOptions>();
  CLI::App* command = app.add_subcommand("train-tokenizer", "Train a byte-level BPE tokenizer on text files");
  command->add_option("--vocab", o->vocab, "Vocabulary size, special tokens included")->required()
      ->check(CLI::PositiveNumber);
  command->add_option("--input", o->inputs, "UTF-8 text files")->required()->expected(1, -1);
  command->add_option("--out", o->out, "Output folder (tokenizer.json, tokenizer_config.json)")->required();
  command->add_option("--special", o->specials, "Extra special tokens after BOS and EOS, e.g. <think>")
      ->expected(1, -1);
  command->add_option("--min-frequency", o->min_frequency, "Never merge pairs seen fewer times")
      ->capture_default_str()->check(CLI::PositiveNumber);
  command->add_option("--digit-group", o->digit_group,
                      "Digits per pre-token piece: 3 as DeepSeek-V3, 1 gives every digit its own token (arithmetic)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3));
  command->add_option("--model-max-length", o->model_max_length, "model_max_length in tokenizer_config.json")
      ->capture_default_str()->check(CLI::PositiveNumber);
  command->add_option("--chat-format", o->chat_format,
                      "Chat template written to tokenizer_config.json (compact: frugal's bare-prompt format, for "
                      "models trained on \"{problem}\\n\" prompts)")
      ->check(CLI::IsMember({"none", "compact"}))
      ->capture_default_str();
  command->add_option("--threads", o->threads, "Worker threads for counting (default: all cores)")
      ->check(CLI::PositiveNumber);
  return [o] { return run_train_tokenizer(*o); };
}

}  // namespace frugal::cli
