#pragma once
// The --kv-cache option, as every command that runs the model takes it.
#include <string>

#include <CLI/CLI.hpp>

namespace frugal::cli {

inline void add_kv_cache_option(CLI::App& command, std::string& value) {
  command
      .add_option("--kv-cache", value,
                  "Latent KV cache precision (auto: f32 up to 512 tokens of context, q8 beyond; bf16: half f32's "
                  "bytes; q8: about a quarter, attended in int8, the one for long contexts)")
      ->check(CLI::IsMember({"auto", "f32", "bf16", "q8"}))
      ->capture_default_str();
}

}  // namespace frugal::cli
