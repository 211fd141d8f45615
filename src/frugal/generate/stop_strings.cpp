#include "frugal/generate/stop_strings.h"

#include <algorithm>

#include "frugal/generate/text_match.h"

namespace frugal {

std::string StopStringFilter::push(std::string_view text) {
  pending_ += text;
  std::size_t cut = std::string::npos;
  for (const std::string& stop : stops_) cut = std::min(cut, pending_.find(stop));
  if (cut != std::string::npos) {
    stopped_ = true;
    std::string released = pending_.substr(0, cut);
    pending_.clear();
    return released;
  }
  std::size_t hold = 0;
  for (const std::string& stop : stops_) hold = std::max(hold, partial_marker_suffix(pending_, stop));
  std::string released = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return released;
}

}  // namespace frugal
