#include "frugal/core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "frugal/core/error.h"

namespace frugal {
namespace {

thread_local bool t_inside_pool = false;
std::unique_ptr<ThreadPool> g_pool;
std::atomic<ThreadPool*> g_current{nullptr};  // g_pool.get(), readable without the mutex
std::mutex g_pool_mutex;

std::pair<std::size_t, std::size_t> chunk(std::size_t count, int parts, int index) {
  const std::size_t base = count / parts, extra = count % parts;
  const std::size_t i = static_cast<std::size_t>(index);
  const std::size_t begin = i * base + std::min(i, extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) : cursors_(static_cast<std::size_t>(std::max(num_threads, 1))) {
  if (num_threads < 1) fail("thread count must be at least 1, got ", num_threads);
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  {
    std::lock_guard lock(mutex_);
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

namespace {

// Spins up to kSpin for `done` before giving up. Waking a sleeping thread
// costs ~50 us to over 1 ms on this VM, so workers stay awake across the gaps
// between a decode's tokens (sampling, streaming the text: 10s to 100s of
// us); an idle pool sleeps after kSpin.
constexpr auto kSpin = std::chrono::microseconds(2000);

template <typename Done>
bool spin_until(const Done& done) {
  const auto give_up = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= give_up) return done();
  }
}

}  // namespace

void ThreadPool::worker_loop(int index) {
  t_inside_pool = true;
  std::size_t seen_generation = 0;
  for (;;) {
    auto has_work = [&] { return stopping_.load() || generation_.load(std::memory_order_acquire) != seen_generation; };
    if (!spin_until(has_work)) {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, has_work);
    }
    if (stopping_.load()) return;
    seen_generation = generation_.load(std::memory_order_acquire);
    run_share(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mutex_);  // the caller may be between its check and its sleep
      work_done_.notify_one();
    }
  }
}

namespace {

// Runs the whole call on the caller when its work is below kSerialWork.
bool ran_serially(std::size_t count, std::size_t work_per_item,
                  const std::function<void(std::size_t, std::size_t)>& body) {
  if (count * work_per_item >= ThreadPool::kSerialWork) return false;
  if (count > 0) body(0, count);
  return true;
}

}  // namespace

void ThreadPool::parallel_for(std::size_t count, std::size_t work_per_item,
                              const std::function<void(std::size_t, std::size_t)>& body) {
  if (!ran_serially(count, work_per_item, body)) dispatch(count, false, body);
}

void ThreadPool::parallel_for_balanced(std::size_t count, std::size_t work_per_item,
                                       const std::function<void(std::size_t, std::size_t)>& body) {
  if (!ran_serially(count, work_per_item, body)) dispatch(count, true, body);
}

void ThreadPool::parallel_for(std::size_t count,
                              const std::function<void(std::size_t, std::size_t)>& body) {
  dispatch(count, false, body);
}

void ThreadPool::run_share(int index) {
  if (!balanced_) {
    const auto [begin, end] = chunk(count_, num_threads(), index);
    if (begin < end) run_chunk(*body_, begin, end);
    return;
  }
  // Its own share first, then the others' in turn.
  const int threads = num_threads();
  for (int k = 0; k < threads; ++k) {
    Cursor& cursor = cursors_[static_cast<std::size_t>((index + k) % threads)];
    for (;;) {
      const std::size_t begin = cursor.next.fetch_add(piece_, std::memory_order_relaxed);
      if (begin >= cursor.end) break;
      run_chunk(*body_, begin, std::min(cursor.end, begin + piece_));
    }
  }
}

void ThreadPool::dispatch(std::size_t count, bool balanced,
                          const std::function<void(std::size_t, std::size_t)>& body) {
  if (count == 0) return;
  if (workers_.empty() || t_inside_pool || count == 1) {
    body(0, count);
    return;
  }
  body_ = &body;
  count_ = count;
  balanced_ = balanced;
  if (balanced) {
    const int threads = num_threads();
    piece_ = std::max<std::size_t>(1, count / (static_cast<std::size_t>(threads) * kPiecesPerShare));
    for (int i = 0; i < threads; ++i) {
      const auto [begin, end] = chunk(count, threads, i);
      cursors_[static_cast<std::size_t>(i)].next.store(begin, std::memory_order_relaxed);
      cursors_[static_cast<std::size_t>(i)].end = end;
    }
  }
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);  // a worker between its check and its sleep sees the new generation
  }
  work_ready_.notify_all();
  t_inside_pool = true;
  run_share(0);
  t_inside_pool = false;
  auto finished = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(finished)) {
    std::unique_lock lock(mutex_);
    work_done_.wait(lock, finished);
  }
  body_ = nullptr;
  std::exception_ptr error;
  {
    std::lock_guard lock(error_mutex_);
    std::swap(error, first_error_);
  }
  if (error) std::rethrow_exception(error);
}

void ThreadPool::run_chunk(const std::function<void(std::size_t, std::size_t)>& body, std::size_t begin,
                           std::size_t end) {
  try {
    body(begin, end);
  } catch (...) {
    std::lock_guard lock(error_mutex_);
    if (!first_error_) first_error_ = std::current_exception();
  }
}

ThreadPool& ThreadPool::global() {
  // Read on every kernel call: an atomic load, not a lock, once the pool exists.
  if (ThreadPool* pool = g_current.load(std::memory_order_acquire)) return *pool;
  std::lock_guard lock(g_pool_mutex);
  if (!g_pool) {
    const unsigned hardware = std::thread::hardware_concurrency();
    g_pool = std::make_unique<ThreadPool>(hardware == 0 ? 1 : static_cast<int>(hardware));
    g_current.store(g_pool.get(), std::memory_order_release);
  }
  return *g_pool;
}

void ThreadPool::set_global_threads(int num_threads) {
  auto pool = std::make_unique<ThreadPool>(num_threads);
  std::lock_guard lock(g_pool_mutex);
  g_current.store(pool.get(), std::memory_order_release);
  g_pool = std::move(pool);
}

}  // namespace frugal
