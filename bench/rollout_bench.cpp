// GRPO rollout throughput: G completions of each of P prompts (P = 1 by
// default; a GRPO step batches all its prompts) sampled in decode batches
// (generate_batch) against the same completions one at a time.
//   rollout_bench MODEL_DIR [--group 8] [--prompts 1] [--prompt 32] [--tokens 128] [--threads N] [--repeats 3]
//                 [--only batched|alone]   (one side only, for profiling)
//                 [--alone-threads N]      (the single sequences on another pool size)
// Every completion runs the full --tokens (no stop tokens), so both sides
// generate the same number of tokens. Prints the median tokens/s of each and
// the median of the ratios of alternating pairs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "frugal/core/cpu_features.h"
#include "frugal/core/thread_pool.h"
#include "frugal/generate/batch_generation.h"
#include "frugal/train/gemm.h"

using namespace frugal;

int main(int argc, char** argv) {
  configure_blas_at_startup(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: rollout_bench MODEL_DIR [--group 8] [--prompt 32] [--tokens 128] [--threads N] [--repeats 3]\n");
    return 2;
  }
  int group = 8, prompts = 1, prompt_length = 32, tokens = 128, threads = 0, repeats = 3, alone_threads = 0;
  std::string only;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--only") only = argv[i + 1];
    else if (flag == "--group") group = value;
    else if (flag == "--prompts") prompts = value;
    else if (flag == "--prompt") prompt_length = value;
    else if (flag == "--tokens") tokens = value;
    else if (flag == "--threads") threads = value;
    else if (flag == "--repeats") repeats = value;
    else if (flag == "--alone-threads") alone_threads = value;
  }
  if (threads <= 0) threads = ThreadPool::global().num_threads();
  if (alone_threads <= 0) alone_threads = threads;
  ThreadPool::set_global_threads(threads);
  try {
    const Model model(argv[1]);
    std::vector<std::vector<int32_t>> prompt_tokens(static_cast<std::size_t>(std::max(prompts, 1)));
    for (std::size_t p = 0; p < prompt_tokens.size(); ++p)
      for (int i = 0; i < prompt_length; ++i)
        prompt_tokens[p].push_back(static_cast<int32_t>((i * 7919 + 11 + p * 104729) % model.config().vocab_size));
    BatchGenerationOptions options;
    options.max_new_tokens = tokens;
    // One measurement of each side, generated tokens per second.
    auto measure = [&](bool batched, int r) {
      if (ThreadPool::global().num_threads() != (batched ? threads : alone_threads))
        ThreadPool::set_global_threads(batched ? threads : alone_threads);
      const auto begin = std::chrono::steady_clock::now();
      int64_t generated = 0;
      if (batched) {
        options.sampling.seed = static_cast<uint64_t>(r);
        for (const Completion& c : generate_batch(model, prompt_tokens, group, options)) generated += c.tokens.size();
      } else {
        for (const auto& prompt : prompt_tokens)
          for (int g = 0; g < group; ++g) {
            options.sampling.seed = static_cast<uint64_t>(r * group + g);
            for (const Completion& c : generate_batch(model, {prompt}, 1, options)) generated += c.tokens.size();
          }
      }
      return generated / std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    };
    // The two sides alternate, so that the speed of a shared VM, which drifts
    // by up to 1.5x over seconds, weighs on both alike; each pair gives a ratio.
    std::vector<double> alone, batched, ratios;
    for (int r = 0; r < repeats; ++r) {
      if (only != "batched") alone.push_back(measure(false, r));
      if (only != "alone") batched.push_back(measure(true, r));
      if (only.empty()) ratios.push_back(batched.back() / alone.back());
    }
    auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    std::printf("%s, %d threads (%d for one at a time); %d prompt(s) of %d tokens, %d completions each of %d tokens, "
                "%d alternating repeats\n",
                describe_cpu().c_str(), threads, alone_threads, static_cast<int>(prompt_tokens.size()), prompt_length,
                group, tokens, repeats);
    auto best = [](const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); };
    std::printf("one at a time: %.0f tokens/s; batched: %.0f tokens/s (medians); median ratio %.2fx\n",
                median(alone), median(batched), median(ratios));
    std::printf("one at a time: %.0f tokens/s; batched: %.0f tokens/s (best of each); ratio %.2fx\n", best(alone),
                best(batched), best(batched) / std::max(best(alone), 1e-9));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rollout_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
