#include "frugal/serve/metrics.h"

#include <cstdio>

namespace frugal::serve {
namespace {

void line(std::string& out, const std::string& name, double value) {
  char number[64];
  std::snprintf(number, sizeof number, " %.17g\n", value);
  out += name;
  out += number;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Histogram::observe(double value) {
  std::size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name) const {
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    char le[64];
    if (i < bounds_.size()) {
      std::snprintf(le, sizeof le, "%g", bounds_[i]);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    line(out, name + "_bucket{le=\"" + le + "\"}", static_cast<double>(cumulative));
  }
  line(out, name + "_sum", sum_);
  line(out, name + "_count", static_cast<double>(count_));
}

void Metrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
}

void Metrics::add_tokens(int64_t prompt, int64_t generated, int64_t prompt_cached) {
  std::lock_guard lock(mutex_);
  prompt_tokens_ += static_cast<uint64_t>(prompt);
  generated_tokens_ += static_cast<uint64_t>(generated);
  prompt_cached_tokens_ += static_cast<uint64_t>(prompt_cached);
}

void Metrics::observe_time_to_first_token(double seconds) {
  std::lock_guard lock(mutex_);
  time_to_first_token_.observe(seconds);
}

void Metrics::observe_inter_token_latency(double seconds) {
  std::lock_guard lock(mutex_);
  inter_token_latency_.observe(seconds);
}

std::string Metrics::render(const EngineStats& e) const {
  std::lock_guard lock(mutex_);
  std::string out;
  header(out, "frugal_requests_total", "counter", "HTTP requests by endpoint and status.");
  for (const auto& [key, count] : requests_)
    line(out, "frugal_requests_total{endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"}",
         static_cast<double>(count));
  header(out, "frugal_prompt_tokens_total", "counter", "Prompt tokens of finished sequences.");
  line(out, "frugal_prompt_tokens_total", static_cast<double>(prompt_tokens_));
  header(out, "frugal_generated_tokens_total", "counter", "Tokens generated.");
  line(out, "frugal_generated_tokens_total", static_cast<double>(generated_tokens_));
  header(out, "frugal_prefix_cache_hit_tokens_total", "counter", "Prompt tokens taken from the prefix cache.");
  line(out, "frugal_prefix_cache_hit_tokens_total", static_cast<double>(prompt_cached_tokens_));
  header(out, "frugal_running_sequences", "gauge", "Sequences being prefilled or decoded.");
  line(out, "frugal_running_sequences", e.running);
  header(out, "frugal_queued_sequences", "gauge", "Sequences waiting for admission.");
  line(out, "frugal_queued_sequences", e.waiting);
  header(out, "frugal_decode_batch_size", "gauge", "Sequences in the latest decode step.");
  line(out, "frugal_decode_batch_size", e.last_batch);
  header(out, "frugal_decode_steps_total", "counter", "Decode steps run.");
  line(out, "frugal_decode_steps_total", static_cast<double>(e.decode_steps));
  header(out, "frugal_kv_cache_bytes", "gauge", "Latent cache bytes held by running sequences.");
  line(out, "frugal_kv_cache_bytes", static_cast<double>(e.kv_bytes_in_use));
  header(out, "frugal_kv_cache_budget_bytes", "gauge", "Latent cache budget for running sequences (--kv-budget).");
  line(out, "frugal_kv_cache_budget_bytes", static_cast<double>(e.kv_budget_bytes));
  header(out, "frugal_prefix_cache_bytes", "gauge", "Latent cache bytes kept by the prefix cache.");
  line(out, "frugal_prefix_cache_bytes", static_cast<double>(e.prefix_cache_bytes));
  header(out, "frugal_prefix_cache_budget_bytes", "gauge", "Prefix cache budget (--prefix-cache).");
  line(out, "frugal_prefix_cache_budget_bytes", static_cast<double>(e.prefix_cache_budget));
  header(out, "frugal_prefix_cache_entries", "gauge", "Sequences kept by the prefix cache.");
  line(out, "frugal_prefix_cache_entries", static_cast<double>(e.prefix_cache_entries));
  header(out, "frugal_time_to_first_token_seconds", "histogram", "From request to first generated token.");
  time_to_first_token_.write(out, "frugal_time_to_first_token_seconds");
  header(out, "frugal_inter_token_latency_seconds", "histogram", "Between consecutive tokens of a sequence.");
  inter_token_latency_.write(out, "frugal_inter_token_latency_seconds");
  return out;
}

}  // namespace frugal::serve
