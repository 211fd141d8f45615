#pragma once
// One pool of worker threads for the whole process. Kernels split work with
// parallel_for; the calling thread takes a share, so a pool of N threads uses
// N-1 workers. No thread is created per token or per call. Decoding a small
// model makes hundreds of short calls per token, so idle workers spin for up
// to 2 ms before they sleep: a sleeping worker costs a futex wake-up (50 us to
// over 1 ms on this VM) per call, which made 2 threads 8-15x slower than 1
// (a 30 us spin still lost every gap between streamed tokens).
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace frugal {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls body(begin, end) on disjoint chunks covering [0, count): chunk i of
  // num_threads() is contiguous, so each thread touches its own rows.
  // Nested calls from inside a body run serially on the caller. If a chunk
  // throws, the other chunks still finish and the caller then rethrows the
  // first exception.
  void parallel_for(std::size_t count,
                    const std::function<void(std::size_t, std::size_t)>& body);

  // The same, but serially on the caller when the call's whole work
  // (count * work_per_item, in multiply-adds or similar steps) is below
  // kSerialWork: handing out and collecting chunks costs about a microsecond,
  // more than small models' per-token products take (measured in
  // docs/performance.md).
  static constexpr std::size_t kSerialWork = 32 * 1024;
  void parallel_for(std::size_t count, std::size_t work_per_item,
                    const std::function<void(std::size_t, std::size_t)>& body);

  // The same contract, but each thread claims its share of [0, count) in
  // pieces (kPiecesPerShare, contiguous, in order) and, once its share is
  // done, claims pieces of the shares still running. Weight streams on a
  // shared host run at speeds that differ by 10-20% between two threads;
  // with fixed shares the faster one waited for the slower at every call
  // (~10% of a decode token, measured in docs/performance.md).
  static constexpr std::size_t kPiecesPerShare = 8;
  void parallel_for_balanced(std::size_t count, std::size_t work_per_item,
                             const std::function<void(std::size_t, std::size_t)>& body);

  // The process-wide pool; sized by set_global_threads (default: hardware).
  // Replacing the pool while another thread uses it is not allowed.
  static ThreadPool& global();
  static void set_global_threads(int num_threads);

 private:
  void worker_loop(int index);
  void run_chunk(const std::function<void(std::size_t, std::size_t)>& body, std::size_t begin, std::size_t end);
  void dispatch(std::size_t count, bool balanced, const std::function<void(std::size_t, std::size_t)>& body);
  void run_share(int index);

  // A share's next unclaimed item, one cache line each (balanced calls).
  struct alignas(64) Cursor {
    std::atomic<std::size_t> next{0};
    std::size_t end = 0;
  };

  std::vector<std::thread> workers_;
  std::mutex mutex_;  // guards the sleeps only; the hand-over is lock-free
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(std::size_t, std::size_t)>* body_ = nullptr;
  std::size_t count_ = 0;
  bool balanced_ = false;
  std::size_t piece_ = 1;
  std::vector<Cursor> cursors_;  // one per thread
  std::atomic<std::size_t> generation_{0};  // bumped (release) after body_ and count_ are set
  std::atomic<int> pending_{0};             // workers still running the current call
  std::atomic<bool> stopping_{false};
  std::mutex error_mutex_;
  std::exception_ptr first_error_;  // the current call's first exception
};

}  // namespace frugal
