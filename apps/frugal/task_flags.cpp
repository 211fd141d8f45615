#include "task_flags.h"

#include <utility>

#include "frugal/core/error.h"

namespace frugal::cli {
namespace {

// "3" or "1-5" from a flag, as an inclusive range.
std::pair<int, int> parse_range(const std::string& text, const char* flag) {
  const std::size_t dash = text.find('-');
  auto number = [&](const std::string& part) {
    std::size_t used = 0;
    int value = -1;
    try {
      value = std::stoi(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || value < 0) fail(flag, ": \"", text, "\" is not a range like 1-5 or 3");
    return value;
  };
  if (dash == std::string::npos) return {number(text), number(text)};
  const int lo = number(text.substr(0, dash)), hi = number(text.substr(dash + 1));
  if (lo > hi) fail(flag, ": the range ", text, " runs backwards");
  return {lo, hi};
}

}  // namespace

void TaskFlags::add_to(CLI::App* command) {
  command->add_option("--digits", digits, "add, sub, mul: digits of the longer operand, A-B or A (default 1-3)");
  command->add_option("--numbers", numbers, "countdown: how many numbers are given, A-B or A (default 3-4)");
  command->add_option("--max-number", max_number, "countdown: the largest given number (default 100)");
}

rl::TaskOptions TaskFlags::options() const {
  rl::TaskOptions options;
  if (!digits.empty()) std::tie(options.min_digits, options.max_digits) = parse_range(digits, "--digits");
  if (!numbers.empty()) std::tie(options.min_numbers, options.max_numbers) = parse_range(numbers, "--numbers");
  options.max_number = max_number;
  return options;
}

}  // namespace frugal::cli
