#pragma once
// Holds back streamed text that might be the start of a stop string, and
// finds the first complete one: text leaves only once no stop string can
// still begin inside it.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace frugal {

class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Adds text; returns what can be released. Sets stopped() when a stop
  // string appeared (the text before it is released, the rest dropped).
  std::string push(std::string_view text);
  // What is still held back (a partial stop string that never completed).
  std::string flush() { return std::exchange(pending_, std::string()); }
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace frugal
