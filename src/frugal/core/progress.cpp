#include "frugal/core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace frugal {

ProgressBar::ProgressBar(std::string label, uint64_t total, uint64_t min_total)
    : label_(std::move(label)), total_(total), shown_(total >= min_total && total > 0), terminal_(isatty(STDERR_FILENO) == 1) {
  if (shown_) draw();
}

void ProgressBar::add(uint64_t bytes) {
  done_ = std::min(total_, done_ + bytes);
  if (shown_) draw();
}

void ProgressBar::draw() {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double share = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  if (terminal_) {
    // At most ~10 redraws a second, and always the last one.
    if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(share * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '.');
    std::fprintf(stderr, "\r%s [%s] %3.0f%% %.1f/%.1f GB %.0f s", label_.c_str(), bar.c_str(), share * 100.0,
                 static_cast<double>(done_) / 1e9, static_cast<double>(total_) / 1e9, seconds);
    std::fflush(stderr);
    return;
  }
  const int tenth = static_cast<int>(share * 10.0);
  if (tenth == last_tenth_) return;
  last_tenth_ = tenth;
  std::fprintf(stderr, "%s: %3d%% (%.1f of %.1f GB, %.0f s)\n", label_.c_str(), tenth * 10,
               static_cast<double>(done_) / 1e9, static_cast<double>(total_) / 1e9, seconds);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (!shown_) return;
  done_ = total_;
  last_draw_ = {};
  draw();
  if (terminal_) std::fputc('\n', stderr);
}

}  // namespace frugal
