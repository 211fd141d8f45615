#include "frugal/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "frugal/core/error.h"

namespace frugal {

double LrSchedule::at(int64_t step) const {
  if (step < warmup_steps) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const double floor = peak * floor_ratio;
  switch (kind) {
    case ScheduleKind::Constant:
      return peak;
    case ScheduleKind::Cosine: {
      const double span = std::max<int64_t>(1, total_steps - warmup_steps);
      const double progress = std::clamp((step - warmup_steps) / span, 0.0, 1.0);
      return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
    }
    case ScheduleKind::WarmupStableDecay: {
      const int64_t decay_steps = std::max<int64_t>(1, static_cast<int64_t>(std::llround(total_steps * decay_fraction)));
      const int64_t decay_start = std::max(warmup_steps, total_steps - decay_steps);
      if (step < decay_start) return peak;
      const double progress = std::clamp(static_cast<double>(step - decay_start + 1) / decay_steps, 0.0, 1.0);
      return peak + (floor - peak) * progress;
    }
  }
  return peak;
}

ScheduleKind parse_schedule_kind(const std::string& name) {
  if (name == "cosine") return ScheduleKind::Cosine;
  if (name == "wsd") return ScheduleKind::WarmupStableDecay;
  if (name == "constant") return ScheduleKind::Constant;
  fail("unknown learning-rate schedule \"", name, "\"; known: cosine, wsd, constant");
}

std::string to_string(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::Cosine: return "cosine";
    case ScheduleKind::WarmupStableDecay: return "wsd";
    case ScheduleKind::Constant: return "constant";
  }
  return "?";
}

}  // namespace frugal
