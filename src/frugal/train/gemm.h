#pragma once
// Float32 matrix products for training, on OpenBLAS, split across the
// process's thread pool. Row-major throughout;
// `ld*` are row strides in elements (default: the row width). Each function
// either overwrites or accumulates into its output, as its name says.
#include <cstdint>

namespace frugal {

// y[n, m] = x[n, k] W[m, k]^T  (+ y when accumulate): a linear layer.
void matmul_xwt(const float* x, const float* w, float* y, int64_t n, int64_t m, int64_t k,
                bool accumulate = false, int64_t ldx = 0, int64_t ldw = 0, int64_t ldy = 0);

// dx[n, k] (+)= dy[n, m] W[m, k]: a linear layer's input gradient.
void matmul_xw(const float* dy, const float* w, float* dx, int64_t n, int64_t m, int64_t k,
               bool accumulate = false, int64_t lddy = 0, int64_t ldw = 0, int64_t lddx = 0);

// dW[m, k] += dy[n, m]^T x[n, k]: a linear layer's weight gradient (always accumulates).
void accumulate_xtw(const float* dy, const float* x, float* dw, int64_t n, int64_t m, int64_t k,
                    int64_t lddy = 0, int64_t ldx = 0, int64_t lddw = 0);

// C[M, N] = op(A) op(B) + beta C on the calling thread only (for small
// products inside an already parallel loop); op transposes when asked.
void gemm_on_this_thread(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                         const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Call once before training: products are split across frugal's thread pool
// (OpenBLAS runs single-threaded inside each piece), and freed activation
// memory stays in the heap for the next step.
void prepare_training_runtime();

// Call at the top of main(). OpenBLAS reads its settings only when it is
// loaded, so when one of these is needed the program re-executes itself once
// with them set; it returns normally in every other case.
// - OPENBLAS_NUM_THREADS=1 (unless the user set it): our pool splits every
//   product, and OpenBLAS's own threads, started at load, spin for a while
//   (a third of a core on this 2-core VM) and contend with the pool.
// - OPENBLAS_CORETYPE=SkylakeX when frugal's SIMD level is AVX-512 (FRUGAL_CPU
//   caps it) and OpenBLAS chose a kernel without it: Debian's OpenBLAS 0.3.21
//   does not recognise recent AVX-512 CPUs (AMD Zen 4 among them) and falls
//   back to its AVX2 "Haswell" kernels, which run half as fast.
void configure_blas_at_startup(char** argv);

}  // namespace frugal
