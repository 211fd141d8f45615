// frugal chat --model DIR [--system TEXT] [sampling flags]
// An interactive conversation: the history is kept (and its cached prefix
// reused turn after turn); /reset starts over, /exit or end of input leaves;
// Ctrl-C stops the current reply and returns to the prompt.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>

#include "commands.h"
#include "frugal/core/error.h"
#include "generation_flags.h"
#include "reply_printer.h"

namespace frugal::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_interrupt(int) { g_interrupted.store(true); }

// SIGINT sets a flag instead of killing the process; without SA_RESTART a
// blocked read at the prompt returns too.
void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
}

struct ChatOptions {
  GenerationFlags flags;
};

int run_chat(ChatOptions& o) {
  const std::optional<Tokenizer> tokenizer = o.flags.load_tokenizer(/*required=*/true);
  const Model model(o.flags.model, parse_weight_format(o.flags.weights));
  const GenerationOptions options = o.flags.options(model, &*tokenizer);
  const ChatFormat format = o.flags.resolve_chat_format(*tokenizer);
  const int64_t context = std::min<int64_t>(o.flags.context > 0 ? o.flags.context : 4096,
                                            model.config().max_position_embeddings);
  Session session(model, context, parse_kv_cache_dtype(o.flags.kv_cache, context));
  const ReasoningDisplay display = o.flags.reasoning_display();
  const bool interactive = ::isatty(STDIN_FILENO) == 1;

  std::vector<ChatMessage> history;
  uint64_t turns = 0;
  auto reset = [&] {
    history.clear();
    if (!o.flags.system.empty()) history.push_back({"system", o.flags.system, {}});
    session.reset();
  };
  reset();
  install_interrupt_handler();
  std::fprintf(stderr, "chat with %s (%s format, context %lld tokens). /reset starts over, /exit leaves.\n",
               o.flags.model.c_str(), to_string(format).c_str(), static_cast<long long>(context));

  for (;;) {
    if (interactive) std::fputs("> ", stdout);
    std::fflush(stdout);
    std::string line;
    g_interrupted.store(false);
    if (!std::getline(std::cin, line)) {
      if (g_interrupted.load()) {  // Ctrl-C at the prompt: a fresh prompt
        std::cin.clear();
        std::fputc('\n', stdout);
        continue;
      }
      break;  // end of input
    }
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      reset();
      std::fputs("(conversation cleared)\n", stdout);
      continue;
    }
    if (line.empty()) continue;

    history.push_back({"user", line, {}});
    const std::vector<int32_t> prompt = tokenizer->encode(render_chat(history, true, format, bos_text(*tokenizer), eos_text(*tokenizer)));
    GenerationOptions turn = options;
    turn.sampling.seed = options.sampling.seed + turns++;  // a fresh stream per reply, still reproducible
    turn.max_new_tokens = std::min<int64_t>(options.max_new_tokens, context - static_cast<int64_t>(prompt.size()));
    if (turn.max_new_tokens <= 0) {
      history.pop_back();
      std::fprintf(stderr, "frugal: the conversation fills the context of %lld tokens; /reset to start over\n",
                   static_cast<long long>(context));
      continue;
    }
    ReplyPrinter printer(prompt_opens_reasoning(format), display);
    const GenerationResult result = generate(session, prompt, turn, &*tokenizer,
                                             [&](std::string_view text) { printer.print(text); }, &g_interrupted);
    printer.finish();
    if (result.stop_reason == StopReason::Interrupted) std::fputs("(stopped)\n", stdout);
    history.push_back({"assistant", result.text, {}});
    std::fprintf(stderr, "%s\n", generation_summary(result, session.kv_cache_dtype(), o.flags.seed_used()).c_str());
  }
  return 0;
}

}  // namespace

Runner add_chat_command(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* command = app.add_subcommand("chat", "Talk with a model: multi-turn, streaming");
  o->flags.add_to(*command, 1024);
  return [o] { return run_chat(*o); };
}

}  // namespace frugal::cli
