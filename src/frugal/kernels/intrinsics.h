#pragma once
// x86 SIMD intrinsics for the kernels. GCC 12's AVX-512 headers build
// reductions from _mm512_undefined_*() values and then warn that they are
// uninitialised; the warnings are false (GCC bug 105593) and point into the
// header, so they are silenced for the header only.
#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
