#pragma once
// Progress of a long job on stderr: on a terminal a bar redrawn in place,
// otherwise a plain line at every tenth, so logs stay readable. Jobs below
// `min_total` show nothing (small models load in a blink).
#include <chrono>
#include <cstdint>
#include <string>

namespace frugal {

class ProgressBar {
 public:
  // `total` in bytes; shown as GB.
  ProgressBar(std::string label, uint64_t total, uint64_t min_total = uint64_t{256} << 20);
  void add(uint64_t bytes);
  // The final state and a newline (once; the destructor calls it too).
  void finish();
  ~ProgressBar() { finish(); }

 private:
  void draw();

  std::string label_;
  uint64_t total_, done_ = 0;
  bool shown_, terminal_, finished_ = false;
  int last_tenth_ = -1;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace frugal
