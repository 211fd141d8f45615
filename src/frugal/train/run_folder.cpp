#include "frugal/train/run_folder.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "frugal/core/error.h"
#include "frugal/core/mapped_file.h"
#include "frugal/io/checkpoint.h"

namespace frugal {

namespace fs = std::filesystem;
using json = nlohmann::json;

RunFolder::RunFolder(std::string dir, bool resume) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
  const fs::path latest = fs::path(dir_) / "latest";
  if (!resume && fs::exists(latest))
    fail(dir_, " already holds a training run (", latest.string(),
         "); pass --resume to continue it or choose another --out");
  if (resume) {
    if (!fs::exists(latest)) fail("--resume: ", dir_, " has no checkpoint yet (no 'latest' file)");
    std::string name = read_text_file(latest.string());
    name.erase(name.find_last_not_of(" \n\r\t") + 1);
    resume_checkpoint_ = (fs::path(dir_) / name).string();
    if (!fs::is_directory(resume_checkpoint_))
      fail(latest.string(), " names ", name, ", which is not a folder in ", dir_);
  }
  for (const auto& entry : fs::directory_iterator(dir_))  // leftovers of an interrupted save
    if (entry.path().extension() == ".partial") fs::remove_all(entry.path());
}

std::vector<json> RunFolder::open_log(int64_t through_step) {
  const fs::path path = fs::path(dir_) / "train_log.jsonl";
  std::vector<json> kept;
  std::string text;
  if (!resume_checkpoint_.empty() && fs::exists(path)) {
    std::istringstream lines(read_text_file(path.string()));
    for (std::string line; std::getline(lines, line);) {
      json record;
      try {
        record = json::parse(line);
      } catch (const json::exception&) {
        continue;  // a line cut short by the interruption
      }
      if (record.value("step", int64_t{0}) > through_step) continue;
      text += line + "\n";
      kept.push_back(std::move(record));
    }
  }
  write_file_atomically(path.string(), text);
  log_.open(path, std::ios::app);
  if (!log_) fail("cannot append to ", path.string());
  return kept;
}

void RunFolder::log(const json& record) {
  log_ << record.dump() << "\n";
  log_.flush();
}

void RunFolder::write_state(const std::string& checkpoint_dir, const std::string& file, int64_t step,
                            const json& options) {
  const json state = {{"step", step}, {"options", options}};
  write_file_atomically((fs::path(checkpoint_dir) / file).string(), state.dump(2) + "\n");
}

int64_t RunFolder::read_state(const std::string& file, const std::function<void(const json&)>& read_options) const {
  const std::string path = (fs::path(resume_checkpoint_) / file).string();
  try {
    const json state = json::parse(read_text_file(path));
    read_options(state.at("options"));
    return state.at("step").get<int64_t>();
  } catch (const json::exception& e) {
    fail(path, ": ", e.what());
  }
}

std::string RunFolder::step_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(step));
  return name;
}

std::string RunFolder::save_checkpoint(int64_t step, int keep, const std::function<void(const std::string&)>& write) {
  const std::string name = step_name(step);
  const fs::path partial = fs::path(dir_) / (name + ".partial");
  const fs::path final_dir = fs::path(dir_) / name;
  fs::remove_all(partial);
  fs::create_directories(partial);
  write(partial.string());
  fs::remove_all(final_dir);
  fs::rename(partial, final_dir);
  write_file_atomically((fs::path(dir_) / "latest").string(), name + "\n");

  std::vector<fs::path> steps;
  for (const auto& entry : fs::directory_iterator(dir_))
    if (entry.is_directory() && entry.path().filename().string().rfind("step-", 0) == 0) steps.push_back(entry.path());
  std::sort(steps.begin(), steps.end());
  for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(1, keep)) < steps.size(); ++i)
    if (steps[i] != final_dir) fs::remove_all(steps[i]);
  return final_dir.string();
}

}  // namespace frugal
