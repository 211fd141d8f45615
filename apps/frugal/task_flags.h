#pragma once
// The flags that shape generated problems, shared by `frugal eval` and
// `frugal grpo`: --digits A-B, --numbers A-B, --max-number N.
#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "frugal/rl/task.h"

namespace frugal::cli {

struct TaskFlags {
  std::string digits, numbers;
  std::optional<int64_t> max_number;

  void add_to(CLI::App* command);
  bool any() const { return !digits.empty() || !numbers.empty() || max_number.has_value(); }
  // Fails naming the flag for a malformed range.
  rl::TaskOptions options() const;
};

}  // namespace frugal::cli
