#pragma once
// Float32 matrix products for training, on OpenBLAS. Row-major throughout;
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

// Threads OpenBLAS may use for one product.
void set_matmul_threads(int threads);

}  // namespace frugal
