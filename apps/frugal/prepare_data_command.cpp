// frugal prepare-data --tokenizer DIR --input FILE [FILE...] --out DIR
//                     [--held-out 0.05] [--seed S]
//                     [--document-separator "\n\n" | --document-per-file] [--threads N]
// Tokenizes text files into DIR/train.safetensors and DIR/heldout.safetensors
// (I32 tokens, I64 document_offsets; every document BOS + text + EOS), with
// DIR/data.json and a copy of the tokenizer (data/prepare.h). The separator
// understands the escapes \n, \r, \t and \\.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/data/prepare.h"

namespace frugal::cli {
namespace {

struct PrepareDataOptions {
  PrepareOptions prepare;
  std::string separator = R"(\n\n)";
  bool document_per_file = false;
  int threads = 0;
};

// "\n\n" as typed in a shell (backslash, n) -> two line feeds.
std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    switch (text[++i]) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '\\': out += '\\'; break;
      default: fail("--document-separator: unknown escape \\", text[i], " (known: \\n \\r \\t \\\\)");
    }
  }
  return out;
}

int run_prepare_data(PrepareDataOptions& o) {
  if (o.threads > 0) ThreadPool::set_global_threads(o.threads);
  const auto start = std::chrono::steady_clock::now();
  o.prepare.document_separator = o.document_per_file ? "" : unescape(o.separator);
  if (!o.document_per_file && o.prepare.document_separator.empty())
    fail("--document-separator must not be empty (use --document-per-file for one document per file)");
  o.prepare.progress = true;
  const PrepareSummary s = prepare_data(o.prepare);
  std::fprintf(stderr,
               "wrote %s: train %lld tokens in %lld documents, held-out %lld tokens in %lld documents "
               "(vocabulary %d, BOS %d, EOS %d) in %.1f s\n",
               o.prepare.out_dir.c_str(), static_cast<long long>(s.train.tokens),
               static_cast<long long>(s.train.documents), static_cast<long long>(s.heldout.tokens),
               static_cast<long long>(s.heldout.documents), s.vocab_size, s.bos_id, s.eos_id,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

}  // namespace

Runner add_prepare_data_command(CLI::App& app) {
  auto o = std::make_shared<PrepareDataOptions>();
  CLI::App* command = app.add_subcommand("prepare-data", "Tokenize text files into train and held-out splits");
  command->add_option("--tokenizer", o->prepare.tokenizer, "Tokenizer folder (tokenizer.json, tokenizer_config.json)")
      ->required();
  command->add_option("--input", o->prepare.inputs, "UTF-8 text files")->required()->expected(1, -1);
  command->add_option("--out", o->prepare.out_dir, "Output folder")->required();
  command->add_option("--held-out", o->prepare.held_out, "Fraction of documents held out")->capture_default_str();
  command->add_option("--seed", o->prepare.seed, "Seed of the held-out draw")->capture_default_str();
  auto* separator = command->add_option("--document-separator", o->separator,
                                        "Text between documents (escapes \\n \\r \\t \\\\)")
                        ->capture_default_str();
  command->add_flag("--document-per-file", o->document_per_file, "Each input file is one document")
      ->excludes(separator);
  command->add_option("--threads", o->threads, "Worker threads for encoding (default: all cores)")
      ->check(CLI::PositiveNumber);
  return [o] { return run_prepare_data(*o); };
}

}  // namespace frugal::cli
