#include "support/test_support.h"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "frugal/core/error.h"

namespace frugal::test {
namespace fs = std::filesystem;

namespace {

struct TempDirs {
  std::vector<std::string> paths;
  ~TempDirs() {
    std::error_code ignored;
    for (const auto& p : paths) fs::remove_all(p, ignored);
  }
};
TempDirs g_temp_dirs;

}  // namespace

std::string data_path(const std::string& relative) {
  return std::string(FRUGAL_TEST_DATA_DIR) + "/" + relative;
}

std::string make_temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "frugal-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  g_temp_dirs.paths.push_back(pattern);
  return pattern;
}

CommandResult run_frugal(const std::string& arguments, bool stderr_too) {
  const std::string command = std::string("'") + FRUGAL_BINARY + "' " + arguments + (stderr_too ? " 2>&1" : " 2>/dev/null");
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  CommandResult result;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    // The shell reports a child killed by signal N as exit status 128 + N.
    result.crashed = result.exit_code > 128;
  } else {
    result.crashed = true;
  }
  return result;
}

std::vector<float> normal_values(std::size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

float max_abs_diff(const float* a, const float* b, std::size_t n) {
  float worst = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (!(d <= worst)) worst = d;  // NaN propagates as a failure
  }
  return worst;
}

float max_abs(const float* a, std::size_t n) {
  float worst = 0.0f;
  for (std::size_t i = 0; i < n; ++i) worst = std::fmax(worst, std::fabs(a[i]));
  return worst;
}

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

testing::AssertionResult throws_error_mentioning(const std::function<void()>& action,
                                                 const std::vector<std::string>& parts) {
  try {
    action();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& part : parts)
      if (message.find(part) == std::string::npos)
        return testing::AssertionFailure() << "message \"" << message << "\" does not mention \""
                                           << part << "\"";
    return testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return testing::AssertionFailure() << "threw something other than frugal::Error: " << e.what();
  }
  return testing::AssertionFailure() << "did not throw";
}

std::vector<std::string> temp_files_in(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp.") != std::string::npos) found.push_back(name);
  }
  return found;
}

void copy_tree(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

std::string writable_checkpoint_copy(const std::string& variant) {
  const std::string dir = make_temp_dir();
  copy_tree(data_path("golden/" + variant + "/checkpoint"), dir);
  for (const auto& entry : fs::directory_iterator(dir))
    fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
  return dir;
}

void edit_safetensors_header(const std::string& path,
                             const std::function<void(nlohmann::json&, uint64_t)>& edit) {
  const std::string bytes = read_bytes(path);
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | static_cast<unsigned char>(bytes[i]);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_length));
  const std::string data = bytes.substr(8 + header_length);
  edit(header, data.size());
  write_bytes(path, safetensors_bytes(header.dump(), data));
}

void edit_json_file(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json value = nlohmann::json::parse(read_bytes(path));
  edit(value);
  write_bytes(path, value.dump(2));
}

}  // namespace frugal::test
