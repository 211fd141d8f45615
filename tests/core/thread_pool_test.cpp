// The process pool hands work over without locks between spins and sleeps:
// every element is visited exactly once, call after call, whether the
// workers are spinning (back-to-back calls) or asleep (calls far apart).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "frugal/core/thread_pool.h"

namespace frugal {
namespace {

TEST(ThreadPool, EveryIndexOnceAcrossManyCallsAndSleeps) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(257);
  for (int call = 0; call < 2000; ++call) {
    const std::size_t count = 1 + static_cast<std::size_t>(call) % hits.size();
    pool.parallel_for(count, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
    });
    if (call % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers fall asleep
  }
  for (std::size_t i = 0; i < hits.size(); ++i) {
    int expected = 0;
    for (int call = 0; call < 2000; ++call) expected += i < 1 + static_cast<std::size_t>(call) % hits.size() ? 1 : 0;
    EXPECT_EQ(hits[i].load(), expected) << i;
  }
}

TEST(ThreadPool, NestedCallsRunOnTheCaller) {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.parallel_for(4, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      pool.parallel_for(10, [&](std::size_t b, std::size_t e) { inner.fetch_add(static_cast<int>(e - b)); });
  });
  EXPECT_EQ(inner.load(), 40);
}

TEST(ThreadPool, SmallWorkRunsOnTheCallerLargeWorkIsSplit) {
  ThreadPool pool(2);
  std::vector<std::pair<std::size_t, std::size_t>> chunks;
  std::mutex mutex;
  auto record = [&](std::size_t begin, std::size_t end) {
    std::lock_guard<std::mutex> lock(mutex);
    chunks.emplace_back(begin, end);
  };
  pool.parallel_for(64, ThreadPool::kSerialWork / 64 - 1, record);
  ASSERT_EQ(chunks.size(), 1u) << "below kSerialWork: one chunk";
  EXPECT_EQ(chunks[0], std::make_pair(std::size_t{0}, std::size_t{64}));
  chunks.clear();
  pool.parallel_for(64, ThreadPool::kSerialWork / 64, record);
  ASSERT_EQ(chunks.size(), 2u) << "at kSerialWork: one chunk per thread";
  EXPECT_EQ(chunks[0].second - chunks[0].first + chunks[1].second - chunks[1].first, 64u);
}

TEST(ThreadPool, RejectsZeroThreads) { EXPECT_THROW(ThreadPool(0), std::exception); }

}  // namespace
}  // namespace frugal
