#pragma once
// Helpers shared by the tests: data paths, temporary folders, running the
// frugal binary, comparing float arrays, crafting raw safetensors bytes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace frugal::test {

// A path under tests/data.
std::string data_path(const std::string& relative);
// A fresh empty folder under the system temp dir, removed at process exit.
std::string make_temp_dir();

struct CommandResult {
  int exit_code = -1;      // the process's exit status, or -1 if it did not exit normally
  bool crashed = false;    // killed by a signal (segfault, abort, ...)
  std::string output;      // stdout and stderr together
};
// Runs the frugal binary with the given (shell-quoted) arguments; `output`
// holds stdout and stderr together, or stdout alone when `stderr_too` is false.
CommandResult run_frugal(const std::string& arguments, bool stderr_too = true);

float max_abs_diff(const float* a, const float* b, std::size_t n);
// n values drawn from N(0, scale^2) with a fixed seed.
std::vector<float> normal_values(std::size_t n, uint32_t seed, float scale = 1.0f);
float max_abs(const float* a, std::size_t n);

// Raw safetensors file: 8-byte length, the header text as given, the data.
std::string safetensors_bytes(const std::string& header, const std::string& data);
void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);
// Succeeds only if `action` throws frugal::Error whose message contains
// every one of `parts` (the file, tensor, field or limit at fault).
testing::AssertionResult throws_error_mentioning(const std::function<void()>& action,
                                                 const std::vector<std::string>& parts);
// Names in `dir` left behind by an AtomicFileWriter ("<target>.tmp.XXXXXX").
std::vector<std::string> temp_files_in(const std::string& dir);
// Copies a folder tree.
void copy_tree(const std::string& from, const std::string& to);
// A private, owner-writable copy of golden/<variant>/checkpoint for a test to
// corrupt (the originals may be read-only).
std::string writable_checkpoint_copy(const std::string& variant);
// Rewrites the JSON header of a safetensors file, keeping its data section
// byte for byte; `edit` receives the header and the data section's size.
void edit_safetensors_header(const std::string& path,
                             const std::function<void(nlohmann::json&, uint64_t)>& edit);
void edit_json_file(const std::string& path, const std::function<void(nlohmann::json&)>& edit);

}  // namespace frugal::test
