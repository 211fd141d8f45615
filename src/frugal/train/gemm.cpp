#include "frugal/train/gemm.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <algorithm>

#include <cblas.h>

#include "frugal/core/cpu_features.h"
#include "frugal/core/thread_pool.h"

namespace frugal {
namespace {

int ld(int64_t given, int64_t width) { return static_cast<int>(given > 0 ? given : width); }

// Splits [0, extent) into blocks of 16 across the process's thread pool and
// calls body(begin, end) per chunk; OpenBLAS itself runs single-threaded, so
// each product is deterministic and products called from inside another
// parallel loop (attention heads) simply run on their caller.
template <typename Body>
void split(int64_t extent, double flops, const Body& body) {
  constexpr int64_t kBlock = 16;
  if (flops < 2e6 || extent < 2 * kBlock) {
    body(int64_t{0}, extent);
    return;
  }
  const std::size_t blocks = static_cast<std::size_t>((extent + kBlock - 1) / kBlock);
  ThreadPool::global().parallel_for(blocks, [&](std::size_t b0, std::size_t b1) {
    body(static_cast<int64_t>(b0) * kBlock, std::min<int64_t>(extent, static_cast<int64_t>(b1) * kBlock));
  });
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

void matmul_xwt(const float* x, const float* w, float* y, int64_t n, int64_t m, int64_t k, bool accumulate,
                int64_t ldx, int64_t ldw, int64_t ldy) {
  const int lx = ld(ldx, k), lw = ld(ldw, k), ly = ld(ldy, m);
  const float beta = accumulate ? 1.0f : 0.0f;
  const double flops = 2.0 * n * m * k;
  if (n >= m) {
    split(n, flops, [&](int64_t r0, int64_t r1) { sgemm(false, true, r1 - r0, m, k, x + r0 * lx, lx, w, lw, beta, y + r0 * ly, ly); });
  } else {
    split(m, flops, [&](int64_t c0, int64_t c1) { sgemm(false, true, n, c1 - c0, k, x, lx, w + c0 * lw, lw, beta, y + c0, ly); });
  }
}

void matmul_xw(const float* dy, const float* w, float* dx, int64_t n, int64_t m, int64_t k, bool accumulate,
               int64_t lddy, int64_t ldw, int64_t lddx) {
  const int ly = ld(lddy, m), lw = ld(ldw, k), lx = ld(lddx, k);
  const float beta = accumulate ? 1.0f : 0.0f;
  const double flops = 2.0 * n * m * k;
  if (n >= k) {
    split(n, flops, [&](int64_t r0, int64_t r1) { sgemm(false, false, r1 - r0, k, m, dy + r0 * ly, ly, w, lw, beta, dx + r0 * lx, lx); });
  } else {
    split(k, flops, [&](int64_t c0, int64_t c1) { sgemm(false, false, n, c1 - c0, m, dy, ly, w + c0, lw, beta, dx + c0, lx); });
  }
}

void accumulate_xtw(const float* dy, const float* x, float* dw, int64_t n, int64_t m, int64_t k, int64_t lddy,
                    int64_t ldx, int64_t lddw) {
  const int ly = ld(lddy, m), lx = ld(ldx, k), lw = ld(lddw, k);
  const double flops = 2.0 * n * m * k;
  if (m >= k) {
    split(m, flops, [&](int64_t r0, int64_t r1) { sgemm(true, false, r1 - r0, k, n, dy + r0, ly, x, lx, 1.0f, dw + r0 * lw, lw); });
  } else {
    split(k, flops, [&](int64_t c0, int64_t c1) { sgemm(true, false, m, c1 - c0, n, dy, ly, x + c0, lx, 1.0f, dw + c0, lw); });
  }
}

void gemm_on_this_thread(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                         const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  sgemm(trans_a, trans_b, M, N, K, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
}

void prepare_training_runtime() {
  // Our pool splits every product; OpenBLAS's own threads would contend with it.
  openblas_set_num_threads(1);
  // Training frees and re-allocates the same large activation buffers every
  // step; keeping them in the heap avoids re-faulting (and zeroing) fresh pages.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void select_fast_blas_kernel(char** argv) {
  if (simd_level() < SimdLevel::Avx512 || std::getenv("FRUGAL_BLAS_REEXECUTED") != nullptr) return;
  const std::string core = openblas_get_corename();
  for (const char* avx512_core : {"kylakex", "ooperlake", "apphire"})
    if (core.find(avx512_core) != std::string::npos) return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  setenv("FRUGAL_BLAS_REEXECUTED", "1", 1);  // never loop, whatever the library then reports
  execv("/proc/self/exe", argv);             // only returns on failure: carry on as we are
}

}  // namespace frugal
