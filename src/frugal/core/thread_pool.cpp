#include "frugal/core/thread_pool.h"

#include <algorithm>
#include <memory>

#include "frugal/core/error.h"

namespace frugal {
namespace {

thread_local bool t_inside_pool = false;
std::unique_ptr<ThreadPool> g_pool;
std::mutex g_pool_mutex;

std::pair<std::size_t, std::size_t> chunk(std::size_t count, int parts, int index) {
  const std::size_t base = count / parts, extra = count % parts;
  const std::size_t i = static_cast<std::size_t>(index);
  const std::size_t begin = i * base + std::min(i, extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads < 1) fail("thread count must be at least 1, got ", num_threads);
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::worker_loop(int index) {
  t_inside_pool = true;
  std::size_t seen_generation = 0;
  for (;;) {
    std::unique_lock lock(mutex_);
    work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
    if (stopping_) return;
    seen_generation = generation_;
    const auto* body = body_;
    const auto [begin, end] = chunk(count_, num_threads(), index);
    lock.unlock();
    if (begin < end) (*body)(begin, end);
    lock.lock();
    if (--pending_ == 0) work_done_.notify_one();
  }
}

void ThreadPool::parallel_for(std::size_t count,
                              const std::function<void(std::size_t, std::size_t)>& body) {
  if (count == 0) return;
  if (workers_.empty() || t_inside_pool || count == 1) {
    body(0, count);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    body_ = &body;
    count_ = count;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  work_ready_.notify_all();
  t_inside_pool = true;
  const auto [begin, end] = chunk(count, num_threads(), 0);
  if (begin < end) body(begin, end);
  t_inside_pool = false;
  std::unique_lock lock(mutex_);
  work_done_.wait(lock, [&] { return pending_ == 0; });
  body_ = nullptr;
}

ThreadPool& ThreadPool::global() {
  std::lock_guard lock(g_pool_mutex);
  if (!g_pool) {
    const unsigned hardware = std::thread::hardware_concurrency();
    g_pool = std::make_unique<ThreadPool>(hardware == 0 ? 1 : static_cast<int>(hardware));
  }
  return *g_pool;
}

void ThreadPool::set_global_threads(int num_threads) {
  auto pool = std::make_unique<ThreadPool>(num_threads);
  std::lock_guard lock(g_pool_mutex);
  g_pool = std::move(pool);
}

}  // namespace frugal
