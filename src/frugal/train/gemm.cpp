#include "frugal/train/gemm.h"

#include <cblas.h>

namespace frugal {
namespace {
int ld(int64_t given, int64_t width) { return static_cast<int>(given > 0 ? given : width); }
}  // namespace

void matmul_xwt(const float* x, const float* w, float* y, int64_t n, int64_t m, int64_t k, bool accumulate,
                int64_t ldx, int64_t ldw, int64_t ldy) {
  if (n == 0 || m == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(m),
              static_cast<int>(k), 1.0f, x, ld(ldx, k), w, ld(ldw, k), accumulate ? 1.0f : 0.0f, y,
              ld(ldy, m));
}

void matmul_xw(const float* dy, const float* w, float* dx, int64_t n, int64_t m, int64_t k, bool accumulate,
               int64_t lddy, int64_t ldw, int64_t lddx) {
  if (n == 0 || k == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(k),
              static_cast<int>(m), 1.0f, dy, ld(lddy, m), w, ld(ldw, k), accumulate ? 1.0f : 0.0f, dx,
              ld(lddx, k));
}

void accumulate_xtw(const float* dy, const float* x, float* dw, int64_t n, int64_t m, int64_t k, int64_t lddy,
                    int64_t ldx, int64_t lddw) {
  if (n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(k),
              static_cast<int>(n), 1.0f, dy, ld(lddy, m), x, ld(ldx, k), 1.0f, dw, ld(lddw, k));
}

void set_matmul_threads(int threads) { openblas_set_num_threads(threads); }

}  // namespace frugal
