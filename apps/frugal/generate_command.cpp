// frugal generate --model DIR (--prompt TEXT [--chat] | --ids 1,2,3) [sampling flags]
//                 [--max-tokens N] [--reasoning show|hide|raw] [--json]
// Streams the reply as it is produced, then prints prompt and generated
// tokens, prefill and decode speed and KV cache bytes in use (stderr).
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "frugal/core/error.h"
#include "frugal/core/peak_memory.h"
#include "frugal/generate/reasoning.h"
#include "generation_flags.h"
#include "int_list.h"
#include "reply_printer.h"

namespace frugal::cli {
namespace {

struct GenerateOptions {
  GenerationFlags flags;
  std::string prompt;
  std::string ids;
  bool chat = false;
  bool json = false;
};

std::vector<int32_t> parse_ids(const std::string& text) {
  const std::vector<int64_t> values = parse_int_list(text, "--ids", INT32_MAX);
  return std::vector<int32_t>(values.begin(), values.end());
}

int run_generate(GenerateOptions& o) {
  if (o.prompt.empty() == o.ids.empty()) fail("give exactly one of --prompt and --ids");
  const std::optional<Tokenizer> tokenizer = o.flags.load_tokenizer(/*required=*/!o.prompt.empty());
  const Model model(o.flags.model, parse_weight_format(o.flags.weights));
  const Tokenizer* t = tokenizer ? &*tokenizer : nullptr;
  const GenerationOptions options = o.flags.options(model, t);

  bool opens_reasoning = false;
  std::vector<int32_t> prompt;
  if (!o.ids.empty()) {
    prompt = parse_ids(o.ids);
  } else if (o.chat) {
    std::vector<ChatMessage> messages;
    if (!o.flags.system.empty()) messages.push_back({"system", o.flags.system, {}});
    messages.push_back({"user", o.prompt, {}});
    const ChatFormat format = o.flags.resolve_chat_format(*t);
    opens_reasoning = prompt_opens_reasoning(format);
    prompt = t->encode(render_chat(messages, true, format, bos_text(*t), eos_text(*t)));
  } else {
    prompt = t->encode(o.prompt);
    if (t->add_bos_token()) prompt.insert(prompt.begin(), *t->bos_id());
  }
  for (int32_t id : prompt)
    if (id >= model.config().vocab_size)
      fail("prompt token ", id, " is outside the model's vocabulary of ", model.config().vocab_size);

  const int64_t max_context = model.config().max_position_embeddings;
  const int64_t wanted = static_cast<int64_t>(prompt.size()) + options.max_new_tokens;
  const int64_t context = o.flags.context > 0 ? o.flags.context : std::min(wanted, max_context);
  Session session(model, context, parse_kv_cache_dtype(o.flags.kv_cache, context));

  const ReasoningDisplay display = o.flags.reasoning_display();
  ReplyPrinter printer(opens_reasoning, display);
  TextCallback on_text;
  if (!o.json && t != nullptr) on_text = [&](std::string_view text) { printer.print(text); };
  GenerationResult result = generate(session, prompt, options, t, on_text);

  if (o.json) {
    const auto [reasoning, answer] = split_reasoning(result.text, opens_reasoning);
    nlohmann::json out = {
        {"prompt_ids", prompt},
        {"ids", result.tokens},
        {"text", result.text},
        {"reasoning", reasoning},
        {"answer", answer},
        {"stop_reason", to_string(result.stop_reason)},
        {"prompt_tokens", result.prompt_tokens},
        {"generated_tokens", result.tokens.size()},
        {"prefill_tokens_per_s", result.prefill_seconds > 0 ? result.prefilled_tokens / result.prefill_seconds : 0.0},
        {"decode_tokens_per_s", result.decode_seconds > 0 ? result.tokens.size() / result.decode_seconds : 0.0},
        {"kv_cache", kv_cache_dtype_name(session.kv_cache_dtype())},
        {"kv_cache_bytes", result.kv_bytes_in_use},
        {"peak_rss_bytes", peak_rss_bytes()},
        {"seed", o.flags.seed_used()},
    };
    std::printf("%s\n", out.dump().c_str());
  } else {
    if (t == nullptr) {
      for (std::size_t i = 0; i < result.tokens.size(); ++i) std::printf(i ? " %d" : "%d", result.tokens[i]);
      std::printf("\n");
    }
    printer.finish();
    std::fprintf(stderr, "%s\n", generation_summary(result, session.kv_cache_dtype(), o.flags.seed_used()).c_str());
  }
  return 0;
}

}  // namespace

Runner add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* command = app.add_subcommand("generate", "Generate text from a prompt, streaming it");
  o->flags.add_to(*command, 256);
  command->add_option("--prompt", o->prompt, "Prompt text");
  command->add_option("--ids", o->ids, "Prompt as comma-separated token ids (models without a tokenizer)");
  command->add_flag("--chat", o->chat, "Format the prompt as a user turn of the model's chat convention");
  command->add_flag("--json", o->json, "Print the result and figures as one JSON object instead");
  return [o] { return run_generate(*o); };
}

}  // namespace frugal::cli
