#include "frugal/serve/engine.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/generate/sampler.h"
#include "frugal/generate/stop_strings.h"
#include "frugal/tokenizer/streaming_decoder.h"

namespace frugal::serve {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// log-softmax of `logits` at `token`, and the k most likely tokens.
TokenLogprob token_logprob(std::span<const float> logits, int32_t token, int k) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - max));
  const auto log_total = static_cast<float>(std::log(sum)) + max;
  TokenLogprob out;
  out.token = token;
  out.logprob = logits[static_cast<std::size_t>(token)] - log_total;
  if (k > 0) {
    std::vector<int32_t> ids(logits.size());
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
    const auto top = std::min<std::size_t>(static_cast<std::size_t>(k), ids.size());
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(top), ids.end(), [&](int32_t a, int32_t b) {
      return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
    });
    for (std::size_t i = 0; i < top; ++i) out.top.emplace_back(ids[i], logits[ids[i]] - log_total);
  }
  return out;
}

}  // namespace

struct Engine::Sequence {
  Sequence(SequenceRequest r, const Tokenizer* tokenizer)
      : request(std::move(r)), sampler(request.sampling), context(request.prompt), stops(request.stop_strings) {
    if (tokenizer != nullptr) decoder.emplace(*tokenizer);
  }
  SequenceRequest request;
  std::shared_ptr<SequenceStream> stream = std::make_shared<SequenceStream>();
  Sampler sampler;
  std::vector<int32_t> context;  // prompt, then the generated tokens (for the penalties)
  std::optional<KvCache> cache;
  std::size_t cache_bytes = 0;
  int64_t fed = 0;           // prompt tokens in the cache
  int64_t restored = 0;      // of them, copied from the prefix cache
  int32_t next_token = -1;   // sampled, fed at the next decode step
  int64_t generated = 0;
  std::optional<StreamingDecoder> decoder;
  StopStringFilter stops;
  Clock::time_point submitted = Clock::now();
  Clock::time_point admitted;
  std::optional<double> time_to_first_token;
  bool done = false;

  bool prefilling() const { return fed < static_cast<int64_t>(request.prompt.size()); }
  SequenceUsage usage() const {
    SequenceUsage u;
    u.prompt_tokens = static_cast<int64_t>(request.prompt.size());
    u.cached_prompt_tokens = restored;
    u.completion_tokens = generated;
    u.queued_seconds = seconds_between(submitted, admitted.time_since_epoch().count() ? admitted : Clock::now());
    u.time_to_first_token = time_to_first_token.value_or(0.0);
    return u;
  }
};

Engine::Engine(const Model& model, const Tokenizer* tokenizer, EngineOptions options)
    : model_(model), tokenizer_(tokenizer), options_(options), prefix_cache_(options.prefix_cache_bytes) {
  if (options_.context < 2) fail("the server's context must hold at least 2 tokens, got ", options_.context);
  if (options_.context > model.config().max_position_embeddings)
    fail("--ctx ", options_.context, " exceeds the model's max_position_embeddings (",
         model.config().max_position_embeddings, ")");
  if (options_.max_sequences < 1) fail("--max-sequences must be at least 1, got ", options_.max_sequences);
  if (options_.prefill_chunk < 1) fail("--prefill-chunk must be at least 1, got ", options_.prefill_chunk);
  if (options_.max_queue < 0) fail("--max-queue must not be negative, got ", options_.max_queue);
  if (options_.kv_budget_bytes == 0) options_.kv_budget_bytes = options_.max_sequences * cache_bytes(options_.context);
  stats_.kv_budget_bytes = options_.kv_budget_bytes;
  stats_.prefix_cache_budget = options_.prefix_cache_bytes;
  thread_ = std::thread([this] { run(); });
}

Engine::~Engine() { shutdown(); }

std::size_t Engine::cache_bytes(int64_t tokens) const {
  const Config& c = model_.config();
  return KvCache(c, c.num_hidden_layers, std::max<int64_t>(tokens, 1), options_.kv_cache_dtype).bytes_allocated();
}

std::shared_ptr<SequenceStream> Engine::submit(SequenceRequest request) {
  const auto prompt = static_cast<int64_t>(request.prompt.size());
  if (prompt == 0) fail("the prompt is empty");
  if (request.max_new_tokens < 1) fail("max_tokens must be at least 1, got ", request.max_new_tokens);
  if (prompt + request.max_new_tokens > options_.context)
    fail("the prompt's ", prompt, " tokens plus max_tokens ", request.max_new_tokens, " exceed the context of ",
         options_.context, " tokens");
  const int64_t vocab = model_.config().vocab_size;
  for (int32_t id : request.prompt)
    if (id < 0 || id >= vocab) fail("token id ", id, " is outside the vocabulary [0, ", vocab, ")");
  if (tokenizer_ == nullptr && !request.stop_strings.empty()) fail("stop strings need a tokenizer");
  validate(request.sampling);
  auto sequence = std::make_unique<Sequence>(std::move(request), tokenizer_);
  sequence->cache_bytes = cache_bytes(prompt + sequence->request.max_new_tokens);
  if (sequence->cache_bytes > options_.kv_budget_bytes)
    fail("the request needs ", sequence->cache_bytes, " bytes of latent cache, more than the budget of ",
         options_.kv_budget_bytes, " bytes (--kv-budget)");
  std::shared_ptr<SequenceStream> stream = sequence->stream;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) fail("the server is shutting down");
    if (static_cast<int>(waiting_.size()) >= options_.max_queue)
      throw QueueFull("too many requests are waiting (" + std::to_string(waiting_.size()) + ", --max-queue " +
                      std::to_string(options_.max_queue) + ")");
    waiting_.push_back(std::move(sequence));
    stats_.waiting = static_cast<int>(waiting_.size());
  }
  work_.notify_one();
  return stream;
}

void Engine::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  work_.notify_one();
  if (thread_.joinable()) thread_.join();
}

EngineStats Engine::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Engine::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !waiting_.empty() || !running_.empty(); });
      if (stopping_) break;
    }
    admit();
    for (auto& s : running_)
      if (s->stream->cancelled()) finish(*s, StopReason::Interrupted);
    remove_finished();
    prefill_chunk();
    decode_running();
    remove_finished();
    std::lock_guard lock(mutex_);
    stats_.running = static_cast<int>(running_.size());
    stats_.waiting = static_cast<int>(waiting_.size());
    stats_.kv_bytes_in_use = kv_in_use_;
    stats_.prefix_cache_bytes = prefix_cache_.bytes();
    stats_.prefix_cache_entries = prefix_cache_.entries();
  }
  // Shutting down: every sequence ends now, with what it has.
  std::deque<std::unique_ptr<Sequence>> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(waiting_);
  }
  for (auto& s : running_) finish(*s, StopReason::Interrupted);
  for (auto& s : waiting) finish(*s, StopReason::Interrupted);
  remove_finished();
  std::lock_guard lock(mutex_);
  stats_.running = stats_.waiting = 0;
  stats_.kv_bytes_in_use = kv_in_use_;
}

void Engine::admit() {
  for (;;) {
    std::unique_ptr<Sequence> s;
    {
      std::lock_guard lock(mutex_);
      if (waiting_.empty()) return;
      Sequence& next = *waiting_.front();
      if (!next.stream->cancelled()) {
        if (static_cast<int>(running_.size()) >= options_.max_sequences) return;
        if (kv_in_use_ + next.cache_bytes > options_.kv_budget_bytes) return;
      }
      s = std::move(waiting_.front());
      waiting_.pop_front();
    }
    s->admitted = Clock::now();
    if (s->stream->cancelled()) {
      finish(*s, StopReason::Interrupted);
      continue;
    }
    const Config& c = model_.config();
    const auto prompt = static_cast<int64_t>(s->request.prompt.size());
    try {
      s->cache.emplace(c, c.num_hidden_layers, prompt + s->request.max_new_tokens, options_.kv_cache_dtype);
    } catch (const std::exception& e) {
      fail_sequence(*s, e.what());
      continue;
    }
    // The last prompt token is always fed: its logits choose the first token.
    s->restored = s->fed = prefix_cache_.restore(s->request.prompt, prompt - 1, *s->cache);
    kv_in_use_ += s->cache_bytes;
    running_.push_back(std::move(s));
  }
}

// Prompts advance, oldest first, by at most `prefill_chunk` tokens in all
// per step: several short prompts share a step, a long one takes several.
// A prompt's chunks always end at multiples of `prefill_chunk` (a chunk that
// does not fit this step's remaining budget waits for the next), because
// the chunking changes the arithmetic (attention form, quantised rows): a
// sequence's tokens must not depend on the prompts that share its steps.
void Engine::prefill_chunk() {
  int64_t budget = options_.prefill_chunk;
  std::vector<float> logits(static_cast<std::size_t>(model_.config().vocab_size));
  ForwardOptions forward;
  forward.last_logits_only = true;
  for (auto& sequence : running_) {
    if (budget == 0) break;
    Sequence& s = *sequence;
    if (s.done || !s.prefilling()) continue;
    const auto prompt = static_cast<int64_t>(s.request.prompt.size());
    const int64_t chunk_end = (s.fed / options_.prefill_chunk + 1) * options_.prefill_chunk;
    const int64_t n = std::min(chunk_end, prompt) - s.fed;
    if (n > budget) continue;
    try {
      model_.forward(s.request.prompt.data() + s.fed, n, *s.cache, logits.data(), nullptr, forward);
      s.fed += n;
      budget -= n;
      if (!s.prefilling()) accept(s, s.sampler.sample(logits, s.context), logits);
    } catch (const std::exception& e) {
      fail_sequence(s, e.what());
    }
  }
}

void Engine::decode_running() {
  std::vector<Sequence*> batch;
  for (auto& s : running_)
    if (!s->done && !s->prefilling()) batch.push_back(s.get());
  if (batch.empty()) return;
  const auto step_start = Clock::now();
  const auto n = static_cast<int64_t>(batch.size());
  uint64_t context = 0;
  for (Sequence* s : batch) context += static_cast<uint64_t>(s->cache->filled(0)) + 1;
  const auto V = static_cast<std::size_t>(model_.config().vocab_size);
  std::vector<int32_t> tokens;
  std::vector<KvCache*> caches;
  for (Sequence* s : batch) {
    tokens.push_back(s->next_token);
    caches.push_back(&*s->cache);
  }
  std::vector<float> logits(static_cast<std::size_t>(n) * V);
  try {
    model_.forward_decode_batch(tokens.data(), n, caches.data(), logits.data());
  } catch (const std::exception& e) {
    for (Sequence* s : batch) fail_sequence(*s, e.what());
    return;
  }
  // Sampling is independent per sequence (each has its own generator), so
  // it runs on the pool; streaming and ending run here, in order.
  std::vector<int32_t> sampled(batch.size(), -1);
  std::vector<std::string> errors(batch.size());
  ThreadPool::global().parallel_for(batch.size(), [&](std::size_t begin, std::size_t end) {
    for (std::size_t b = begin; b < end; ++b) {
      try {
        sampled[b] = batch[b]->sampler.sample(std::span(logits.data() + b * V, V), batch[b]->context);
      } catch (const std::exception& e) {
        errors[b] = e.what();
      }
    }
  });
  for (std::size_t b = 0; b < batch.size(); ++b) {
    if (!errors[b].empty()) {
      fail_sequence(*batch[b], errors[b]);
      continue;
    }
    accept(*batch[b], sampled[b], std::span(logits.data() + b * V, V));
  }
  const double seconds = seconds_between(step_start, Clock::now());
  std::lock_guard lock(mutex_);
  stats_.last_batch = static_cast<int>(n);
  ++stats_.decode_steps;
  stats_.decoded_tokens += static_cast<uint64_t>(n);
  stats_.decoded_context += context;
  stats_.decode_seconds += seconds;
}

bool Engine::accept(Sequence& s, int32_t token, std::span<const float> logits) {
  const auto now = Clock::now();
  if (!s.time_to_first_token) s.time_to_first_token = seconds_between(s.submitted, now);
  const auto& stops = s.request.stop_tokens;
  if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
    finish(s, StopReason::EndToken);
    return false;
  }
  SequenceEvent event;
  event.token = token;
  if (s.request.top_logprobs >= 0) event.logprob = token_logprob(logits, token, s.request.top_logprobs);
  ++s.generated;
  s.context.push_back(token);
  if (s.decoder) event.text = s.stops.push(s.decoder->push(token));
  const bool stop_string = s.stops.stopped();
  s.stream->push(std::move(event));
  if (stop_string) {
    finish(s, StopReason::StopString);
    return false;
  }
  if (s.generated >= s.request.max_new_tokens) {
    finish(s, StopReason::MaxTokens);
    return false;
  }
  s.next_token = token;
  return true;
}

void Engine::finish(Sequence& s, StopReason reason) {
  if (s.done) return;
  s.done = true;
  SequenceEvent event;
  event.kind = SequenceEvent::Kind::Finished;
  event.stop_reason = reason;
  if (s.decoder && !s.stops.stopped()) {
    event.text = s.stops.push(s.decoder->flush());
    if (s.stops.stopped()) {
      event.stop_reason = StopReason::StopString;
    } else {
      event.text += s.stops.flush();
    }
  }
  event.usage = s.usage();
  if (s.cache && reason != StopReason::Interrupted) {
    const int64_t kept = s.cache->filled(0);
    prefix_cache_.store(std::span(s.context).first(static_cast<std::size_t>(kept)), *s.cache, model_.config());
  }
  s.stream->push(std::move(event));
}

void Engine::fail_sequence(Sequence& s, const std::string& message) {
  if (s.done) return;
  s.done = true;
  SequenceEvent event;
  event.kind = SequenceEvent::Kind::Failed;
  event.error = message;
  event.usage = s.usage();
  s.stream->push(std::move(event));
}

void Engine::remove_finished() {
  for (auto& s : running_)
    if (s->done && s->cache) {
      kv_in_use_ -= s->cache_bytes;
      s->cache.reset();
    }
  std::erase_if(running_, [](const auto& s) { return s->done; });
}

}  // namespace frugal::serve
