#include "frugal/rl/task_registry.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/rl/arithmetic_task.h"
#include "frugal/rl/countdown_task.h"

namespace frugal::rl {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void reject_unused(const std::string& task, bool given, const char* option) {
  if (given) fail("task ", task, " does not use the option ", option);
}

}  // namespace

std::vector<std::string> task_names() { return {"add", "sub", "mul", "countdown"}; }

std::unique_ptr<Task> make_task(const std::string& name, const TaskOptions& o) {
  if (name == "add" || name == "sub" || name == "mul") {
    reject_unused(name, o.min_numbers || o.max_numbers, "numbers");
    reject_unused(name, o.max_number.has_value(), "max number");
    const int lo = o.min_digits.value_or(1), hi = o.max_digits.value_or(std::max(lo, 3));
    if (name == "add") return make_add_task(lo, hi);
    if (name == "sub") return make_sub_task(lo, hi);
    return make_mul_task(lo, hi);
  }
  if (name == "countdown") {
    reject_unused(name, o.min_digits || o.max_digits, "digits");
    const int lo = o.min_numbers.value_or(3), hi = o.max_numbers.value_or(std::max(lo, 4));
    return make_countdown_task(lo, hi, o.max_number.value_or(100));
  }
  fail("unknown task \"", name, "\" (known: ", joined(task_names()), ")");
}

}  // namespace frugal::rl
