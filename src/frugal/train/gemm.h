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

// Debian's OpenBLAS 0.3.21 does not recognise recent AVX-512 CPUs (AMD Zen 4
// among them) and falls back to its AVX2 "Haswell" kernels, as it does when
// OPENBLAS_CORETYPE=Haswell is set system-wide; its AVX-512 kernels run twice
// as fast. Call at the top of main(): when frugal's SIMD level is AVX-512
// (FRUGAL_CPU caps it) and OpenBLAS chose a kernel without AVX-512, the
// program re-executes itself once with OPENBLAS_CORETYPE=SkylakeX (the
// library reads it only when loaded). Returns normally in every other case.
void select_fast_blas_kernel(char** argv);

}  // namespace frugal
