#pragma once
// The output folder of a training run (pre-training, SFT, GRPO), built so
// that kill -9 at any moment loses at most the steps since the last
// checkpoint and never leaves a broken one:
//   step-NNNNNNNN/   a checkpoint, written as step-NNNNNNNN.partial and renamed
//   latest           the name of the newest complete checkpoint (atomic rewrite)
//   train_log.jsonl  one JSON record per line, each with its "step"
// On resume, the log keeps the records up to the resumed step (later steps
// are redone) and drops a last line cut short by the interruption.
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal {

class RunFolder {
 public:
  // A new run fails if `dir` already holds one; a resumed run fails if it
  // holds no checkpoint. Leftover .partial folders are removed.
  RunFolder(std::string dir, bool resume);

  const std::string& dir() const { return dir_; }
  // The newest complete checkpoint folder (empty for a new run).
  const std::string& resume_checkpoint() const { return resume_checkpoint_; }

  // Opens the log for appending; returns the records it keeps (those with
  // step <= `through_step`; all records of a new run are dropped).
  std::vector<nlohmann::json> open_log(int64_t through_step);
  void log(const nlohmann::json& record);

  // Writes a checkpoint: `write` fills the given folder, which then becomes
  // step-NNNNNNNN and `latest`. Keeps the newest `keep` checkpoints.
  std::string save_checkpoint(int64_t step, int keep, const std::function<void(const std::string&)>& write);

  // A checkpoint's state file: {"step": N, "options": {...}}.
  static void write_state(const std::string& checkpoint_dir, const std::string& file, int64_t step,
                          const nlohmann::json& options);
  // Reads the resumed checkpoint's state `file`, hands its options to
  // `read_options` and returns its step; malformed JSON or a missing field
  // is an error naming the file.
  int64_t read_state(const std::string& file, const std::function<void(const nlohmann::json&)>& read_options) const;

  static std::string step_name(int64_t step);

  // Whether step `done` is due for something done every `every` steps (0 =
  // never on the way) and always at `final_step`: evaluations, checkpoints.
  static bool due(int64_t done, int64_t every, int64_t final_step) {
    return done == final_step || (every > 0 && done % every == 0);
  }

 private:
  std::string dir_;
  std::string resume_checkpoint_;
  std::ofstream log_;
};

}  // namespace frugal
