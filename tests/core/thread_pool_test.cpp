// The process pool hands work over without locks between spins and sleeps:
// every element is visited exactly once, call after call, whether the
// workers are spinning (back-to-back calls) or asleep (calls far apart),
// with fixed shares or with balanced ones that a faster thread takes over.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
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

TEST(ThreadPool, BalancedCallsVisitEveryIndexOnceInContiguousPieces) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  for (int call = 0; call < 200; ++call) {
    const std::size_t count = 1 + static_cast<std::size_t>(call * 7) % hits.size();
    const std::size_t longest_piece = std::max<std::size_t>(1, count / (3 * ThreadPool::kPiecesPerShare));
    std::atomic<bool> piece_too_long{false};
    auto visit = [&](std::size_t begin, std::size_t end) {
      if (end - begin > longest_piece) piece_too_long = true;
      for (std::size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
    };
    if (call % 2 == 0) {
      pool.parallel_for_balanced(count, ThreadPool::kSerialWork, visit);
    } else {
      pool.parallel_for(count, visit);  // the two kinds of call alternate on one pool
    }
    if (call % 2 == 0) EXPECT_FALSE(piece_too_long.load()) << "count " << count;
    for (std::size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].exchange(0), i < count ? 1 : 0) << i;
    if (call % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(ThreadPool, BalancedCallsLetTheFasterThreadTakeOverTheSlowersShare) {
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  std::atomic<std::size_t> worker_items{0};
  const std::size_t count = 160;  // shares of 80, pieces of 10
  pool.parallel_for_balanced(count, ThreadPool::kSerialWork, [&](std::size_t begin, std::size_t end) {
    if (std::this_thread::get_id() == caller) return;
    worker_items += end - begin;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a worker on a busy core
  });
  // The caller finishes its share at once and claims the worker's pieces
  // while the worker sleeps over its first (or, at worst, second) one.
  EXPECT_LE(worker_items.load(), 20u);
  // Fixed shares: the worker runs all of its 80.
  worker_items = 0;
  pool.parallel_for(count, [&](std::size_t begin, std::size_t end) {
    if (std::this_thread::get_id() != caller) worker_items += end - begin;
  });
  EXPECT_EQ(worker_items.load(), 80u);
}

TEST(ThreadPool, BalancedCallsRethrowAfterEveryPieceRan) {
  ThreadPool pool(2);
  std::atomic<std::size_t> visited{0};
  EXPECT_THROW(pool.parallel_for_balanced(64, ThreadPool::kSerialWork,
                                          [&](std::size_t begin, std::size_t end) {
                                            visited += end - begin;
                                            if (begin <= 40 && 40 < end) throw std::runtime_error("item 40");
                                          }),
               std::runtime_error);
  EXPECT_EQ(visited.load(), 64u);
}

TEST(ThreadPool, RejectsZeroThreads) { EXPECT_THROW(ThreadPool(0), std::exception); }

}  // namespace
}  // namespace frugal
