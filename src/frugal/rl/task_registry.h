#pragma once
// Tasks by name, for the CLI and training commands.
#include <memory>
#include <string>
#include <vector>

#include "frugal/rl/task.h"

namespace frugal::rl {

// "add", "sub", "mul", "countdown".
std::vector<std::string> task_names();

// The task with its options (defaults: digits 1-3; countdown 3-4 numbers up
// to 100). Fails naming the known tasks for an unknown name, and naming the
// option for an option the task does not use or a value out of range.
std::unique_ptr<Task> make_task(const std::string& name, const TaskOptions& options = {});

}  // namespace frugal::rl
