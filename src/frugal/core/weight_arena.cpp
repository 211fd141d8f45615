#include "frugal/core/weight_arena.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace frugal {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Blocks of 64 MiB: the space left at a block's end when the next matrix
// does not fit is at most one matrix, and never touched (not resident).
constexpr std::size_t kBlockBytes = std::size_t{64} << 20;
constexpr std::size_t kAlignment = 64;

struct Block {
  std::shared_ptr<uint8_t[]> memory;
  std::size_t size = 0, used = 0;
};

std::shared_ptr<uint8_t[]> new_block(std::size_t size) {
  void* p = std::aligned_alloc(kHugePage, size);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  ::madvise(p, size, MADV_HUGEPAGE);  // a hint: without THP the pages stay 4 KiB
#endif
  return std::shared_ptr<uint8_t[]>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
}

}  // namespace

std::shared_ptr<uint8_t[]> allocate_weight_bytes(std::size_t bytes) {
  static std::mutex mutex;
  static Block current;
  const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  std::lock_guard lock(mutex);
  if (current.used + rounded > current.size) {
    const std::size_t size = std::max(kBlockBytes, (rounded + kHugePage - 1) / kHugePage * kHugePage);
    current = Block{new_block(size), size, 0};
  }
  std::shared_ptr<uint8_t[]> out(current.memory, current.memory.get() + current.used);
  current.used += rounded;
  return out;
}

}  // namespace frugal
