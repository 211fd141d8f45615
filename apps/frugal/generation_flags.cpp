#include "generation_flags.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include "frugal/core/error.h"
#include "frugal/core/peak_memory.h"
#include "frugal/core/thread_pool.h"
#include "kv_cache_flag.h"

namespace frugal::cli {

void GenerationFlags::add_to(CLI::App& command, int64_t default_max_tokens) {
  max_tokens = default_max_tokens;
  command.add_option("--model", model, "Hugging Face checkpoint folder")->required();
  command.add_option("--tokenizer", tokenizer, "tokenizer.json or its folder (default: the model folder)");
  command.add_option("--chat-format", chat_format, "Chat convention (auto: from the tokenizer's template)")
      ->check(CLI::IsMember(chat_format_names()));
  command.add_option("--system", system, "System prompt for chat formatting");
  command.add_option("--temperature", sampling.temperature, "Sampling temperature (0 = greedy)")
      ->capture_default_str();
  command.add_flag("--greedy", greedy, "Always take the most likely token (temperature 0)");
  command.add_option("--top-k", sampling.top_k, "Keep the k most likely tokens (0 = off)");
  command.add_option("--top-p", sampling.top_p, "Nucleus sampling threshold (1 = off)");
  command.add_option("--min-p", sampling.min_p, "Drop tokens below min-p times the best (0 = off)");
  command.add_option("--repetition-penalty", sampling.repetition_penalty, "CTRL-style repetition penalty (1 = off)");
  command.add_option("--presence-penalty", sampling.presence_penalty, "Penalty for tokens already present");
  command.add_option("--frequency-penalty", sampling.frequency_penalty, "Penalty per earlier occurrence");
  command.add_option("--seed", seed, "Random seed (default: drawn and printed, so a run can be repeated)");
  command.add_option("--max-tokens", max_tokens, "Most tokens to generate per reply")->capture_default_str();
  command.add_option("--ctx", context, "Context size in tokens (default: enough for prompt and reply)");
  command.add_option("--stop", stop, "Stop before this text (repeatable)");
  command.add_flag("--ignore-eos", ignore_eos, "Do not stop at the end-of-sequence token");
  command.add_option("--threads", threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 1024));
  command.add_option("--weights", weights, "Weight format in memory (auto: as stored)")
      ->check(CLI::IsMember(weight_format_names()));
  add_kv_cache_option(command, kv_cache);
  command.add_option("--reasoning", reasoning, "How to show R1-style reasoning")
      ->check(CLI::IsMember({"show", "hide", "raw"}));
}

ReasoningDisplay GenerationFlags::reasoning_display() const {
  if (reasoning == "hide") return ReasoningDisplay::Hide;
  if (reasoning == "raw") return ReasoningDisplay::Raw;
  return ReasoningDisplay::Show;
}

std::optional<Tokenizer> GenerationFlags::load_tokenizer(bool required) const {
  if (threads > 0) ThreadPool::set_global_threads(threads);
  const std::string path = tokenizer.empty() ? model : tokenizer;
  const bool present = std::filesystem::exists(std::filesystem::is_directory(path)
                                                   ? std::filesystem::path(path) / "tokenizer.json"
                                                   : std::filesystem::path(path));
  if (!present) {
    if (required || !tokenizer.empty())
      fail(path, ": no tokenizer.json (give --tokenizer, or --ids for models without one)");
    return std::nullopt;
  }
  return Tokenizer::load(path);
}

ChatFormat GenerationFlags::resolve_chat_format(const Tokenizer& t) const {
  return frugal::resolve_chat_format(chat_format, t.chat_template());
}

GenerationOptions GenerationFlags::options(const Model& m, const Tokenizer* t) const {
  GenerationOptions o;
  o.sampling = sampling;
  if (greedy) o.sampling.temperature = 0.0f;
  drawn_seed_ = seed ? *seed : std::random_device{}();
  o.sampling.seed = drawn_seed_;
  validate(o.sampling);
  o.max_new_tokens = max_tokens;
  if (max_tokens < 0) fail("--max-tokens must not be negative");
  o.stop_strings = stop;
  if (!ignore_eos) {
    o.stop_tokens = m.config().eos_token_ids;
    if (t != nullptr && t->eos_id()) o.stop_tokens.push_back(*t->eos_id());
  }
  return o;
}

std::string bos_text(const Tokenizer& t) { return t.bos_id() ? t.token_string(*t.bos_id()) : ""; }
std::string eos_text(const Tokenizer& t) { return t.eos_id() ? t.token_string(*t.eos_id()) : ""; }

std::string generation_summary(const GenerationResult& r, DType kv_cache_dtype, uint64_t seed) {
  const auto generated = static_cast<double>(r.tokens.size());
  char line[512];
  std::snprintf(line, sizeof line,
                "prompt %lld tokens (%lld prefilled, %.1f tokens/s) | generated %zu tokens (%.1f tokens/s, "
                "stop: %s) | KV cache (%s) %.1f KiB in use | peak RSS %.1f MiB | seed %llu",
                static_cast<long long>(r.prompt_tokens), static_cast<long long>(r.prefilled_tokens),
                r.prefill_seconds > 0 ? r.prefilled_tokens / r.prefill_seconds : 0.0, r.tokens.size(),
                r.decode_seconds > 0 ? generated / r.decode_seconds : 0.0, to_string(r.stop_reason),
                kv_cache_dtype_name(kv_cache_dtype).c_str(), r.kv_bytes_in_use / 1024.0, static_cast<double>(peak_rss_bytes()) / (1024.0 * 1024.0),
                static_cast<unsigned long long>(seed));
  return line;
}

}  // namespace frugal::cli
