#pragma once
// Learning-rate schedules: linear warm-up, then cosine decay to a floor, or
// warm-up-stable-decay (constant after warm-up, linear decay over the last
// fraction of the steps), or constant after warm-up.
#include <cstdint>
#include <string>

namespace frugal {

enum class ScheduleKind { Cosine, WarmupStableDecay, Constant };

struct LrSchedule {
  ScheduleKind kind = ScheduleKind::Cosine;
  double peak = 1e-3;
  double floor_ratio = 0.1;     // final lr = peak * floor_ratio (cosine, WSD)
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double decay_fraction = 0.2;  // WSD: share of total_steps spent decaying

  // The lr of step `step` (0-based).
  double at(int64_t step) const;
};

ScheduleKind parse_schedule_kind(const std::string& name);  // "cosine", "wsd", "constant"
std::string to_string(ScheduleKind kind);

}  // namespace frugal
