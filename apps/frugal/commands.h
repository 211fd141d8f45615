#pragma once
// The frugal CLI's subcommands. Each registers its options on the app and
// returns the function that runs it once the command line is parsed.
#include <functional>

#include <CLI/CLI.hpp>

namespace frugal::cli {

using Runner = std::function<int()>;

Runner add_inspect_command(CLI::App& app);
Runner add_logits_command(CLI::App& app);
Runner add_compare_command(CLI::App& app);
Runner add_tokenize_command(CLI::App& app);
Runner add_generate_command(CLI::App& app);
Runner add_chat_command(CLI::App& app);
Runner add_init_command(CLI::App& app);
Runner add_bench_command(CLI::App& app);
Runner add_grad_command(CLI::App& app);
Runner add_train_tokenizer_command(CLI::App& app);
Runner add_prepare_data_command(CLI::App& app);
Runner add_train_command(CLI::App& app);
Runner add_eval_command(CLI::App& app);
Runner add_sft_command(CLI::App& app);
Runner add_grpo_command(CLI::App& app);
Runner add_problems_command(CLI::App& app);
Runner add_serve_command(CLI::App& app);
Runner add_bench_serve_command(CLI::App& app);

}  // namespace frugal::cli
