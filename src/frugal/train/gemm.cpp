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

// C[M, N] (+)= op(A) op(B), split across the pool along M or N, whichever is
// larger: rows r0..r1 of op(A) start at A + r0 lda (A + r0 when A is
// transposed); columns c0..c1 of op(B) start at B + c0 (B + c0 ldb when B is).
void split_product(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int lda,
                   const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0 || (K <= 0 && beta == 1.0f)) return;  // nothing to add (an expert no row chose)
  const double flops = 2.0 * M * N * K;
  if (M >= N) {
    split(M, flops, [&](int64_t r0, int64_t r1) {
      sgemm(trans_a, trans_b, r1 - r0, N, K, A + (trans_a ? r0 : r0 * lda), lda, B, ldb, beta, C + r0 * ldc, ldc);
    });
  } else {
    split(N, flops, [&](int64_t c0, int64_t c1) {
      sgemm(trans_a, trans_b, M, c1 - c0, K, A, lda, B + (trans_b ? c0 * ldb : c0), ldb, beta, C + c0, ldc);
    });
  }
}

}  // namespace

void matmul_xwt(const float* x, const float* w, float* y, int64_t n, int64_t m, int64_t k, bool accumulate,
                int64_t ldx, int64_t ldw, int64_t ldy) {
  split_product(false, true, n, m, k, x, ld(ldx, k), w, ld(ldw, k), accumulate ? 1.0f : 0.0f, y, ld(ldy, m));
}

void matmul_xw(const float* dy, const float* w, float* dx, int64_t n, int64_t m, int64_t k, bool accumulate,
               int64_t lddy, int64_t ldw, int64_t lddx) {
  split_product(false, false, n, k, m, dy, ld(lddy, m), w, ld(ldw, k), accumulate ? 1.0f : 0.0f, dx, ld(lddx, k));
}

void accumulate_xtw(const float* dy, const float* x, float* dw, int64_t n, int64_t m, int64_t k, int64_t lddy,
                    int64_t ldx, int64_t lddw) {
  split_product(true, false, m, k, n, dy, ld(lddy, m), x, ld(ldx, k), 1.0f, dw, ld(lddw, k));
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

void configure_blas_at_startup(char** argv) {
  if (std::getenv("FRUGAL_BLAS_REEXECUTED") != nullptr) return;  // never loop, whatever the library then reports
  bool reexecute = false;
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    reexecute = true;
  }
  if (simd_level() >= SimdLevel::Avx512) {
    const std::string core = openblas_get_corename();
    bool has_avx512 = false;
    for (const char* avx512_core : {"kylakex", "ooperlake", "apphire"})
      has_avx512 = has_avx512 || core.find(avx512_core) != std::string::npos;
    if (!has_avx512) {
      setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
      reexecute = true;
    }
  }
  if (!reexecute) return;
  setenv("FRUGAL_BLAS_REEXECUTED", "1", 1);
  execv("/proc/self/exe", argv);  // only returns on failure: carry on as we are
}

}  // namespace frugal
