// frugal: run and train DeepSeek-architecture language models on CPUs.
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/train/gemm.h"

int main(int argc, char** argv) {
  frugal::configure_blas_at_startup(argv);
  CLI::App app{"frugal: DeepSeek-V2/V3/R1 models on CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "frugal 0.1.0");

  std::map<CLI::App*, frugal::cli::Runner> runners;
  auto add = [&](frugal::cli::Runner (*registrar)(CLI::App&)) {
    const std::size_t before = app.get_subcommands({}).size();
    frugal::cli::Runner run = registrar(app);
    runners[app.get_subcommands({})[before]] = std::move(run);
  };
  add(frugal::cli::add_inspect_command);
  add(frugal::cli::add_logits_command);
  add(frugal::cli::add_compare_command);
  add(frugal::cli::add_tokenize_command);
  add(frugal::cli::add_generate_command);
  add(frugal::cli::add_chat_command);
  add(frugal::cli::add_init_command);
  add(frugal::cli::add_bench_command);
  add(frugal::cli::add_grad_command);
  add(frugal::cli::add_train_tokenizer_command);
  add(frugal::cli::add_prepare_data_command);
  add(frugal::cli::add_train_command);
  add(frugal::cli::add_eval_command);
  add(frugal::cli::add_sft_command);
  add(frugal::cli::add_grpo_command);
  add(frugal::cli::add_problems_command);
  add(frugal::cli::add_serve_command);
  add(frugal::cli::add_bench_serve_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [command, run] : runners)
      if (command->parsed()) return run();
  } catch (const frugal::Error& e) {
    std::fprintf(stderr, "frugal: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "frugal: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "frugal: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
