#pragma once
// Memory for weights converted at load (Q8 and Q4 codes, BF16 rows): carved from
// blocks aligned to 2 MiB and marked for transparent huge pages, so that
// decode's streams through them miss the TLB once per 2 MiB rather than
// once per 4 KiB. Each allocation keeps its block alive; a block is freed
// with its last matrix. Thread-safe.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace frugal {

// `bytes` of uninitialised memory, 64-byte aligned.
std::shared_ptr<uint8_t[]> allocate_weight_bytes(std::size_t bytes);

}  // namespace frugal
