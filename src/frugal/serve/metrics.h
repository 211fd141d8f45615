#pragma once
// The server's counters and latency histograms, written out in Prometheus'
// text exposition format for GET /metrics.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "frugal/serve/engine.h"

namespace frugal::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double value);
  // Lines `name_bucket{le=...}`, `name_sum`, `name_count`.
  void write(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); last: above every bound
  double sum_ = 0.0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  void count_request(const std::string& endpoint, int status);
  void add_tokens(int64_t prompt, int64_t generated, int64_t prompt_cached);
  void observe_time_to_first_token(double seconds);
  void observe_inter_token_latency(double seconds);
  // The whole exposition, with the engine's gauges.
  std::string render(const EngineStats& engine) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0, generated_tokens_ = 0, prompt_cached_tokens_ = 0;
  Histogram time_to_first_token_{{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
  Histogram inter_token_latency_{{0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5}};
};

}  // namespace frugal::serve
