#pragma once
// A linear layer's weight W [rows, cols] (y = x W^T) in its stored format:
// float32, BF16 or F16 rows read straight from the checkpoint mapping, FP8
// E4M3 with per-block float32 multipliers (`weight_scale_inv`), or int8 or
// packed 4-bit codes with 1 x 32 block scales (Q8 and Q4, converted at load;
// see q8.h and q4.h). Kernels read rows in
// these formats directly, so no float32 copy of a model is ever made.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frugal/core/dtype.h"

namespace frugal {

struct WeightMatrix {
  std::string name;
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* data = nullptr;  // row-major, no alignment promised

  // Block scales (FP8, Q8, Q4): scales[(row_offset + r) / block_rows][c / block_cols].
  std::shared_ptr<const std::vector<float>> scales;
  int block_rows = 0;
  int block_cols = 0;
  int64_t scale_cols = 0;
  int64_t row_offset = 0;  // first row of this view inside the stored tensor
  // 16 when a Q8 or Q4 matrix's rows are interleaved by 16
  // (q8_interleaved.h, q4_interleaved.h), scales grouped per 16 rows; row
  // slices then start and end at multiples of 16. 0: plain row-major rows.
  int interleaved_rows = 0;

  // Set when the matrix owns its bytes (converted at load, not mapped).
  std::shared_ptr<const void> storage;
  // Float32 matrices packed for decode (panel_product.h); linear() uses the
  // panels when set. Row slices leave them out.
  std::shared_ptr<const std::vector<float>> panels;

  bool empty() const { return data == nullptr; }
  std::size_t row_bytes() const {
    return dtype == DType::Q4 ? static_cast<std::size_t>(cols) / 2 : static_cast<std::size_t>(cols) * dtype_size(dtype);
  }
  // Bytes a kernel reads for the whole matrix, scales included.
  std::size_t stored_bytes() const;
  void decode_row(int64_t row, float* out) const;
  float element(int64_t row, int64_t col) const;
  // Rows [begin, begin + count) as a view sharing storage and scales.
  WeightMatrix row_slice(int64_t begin, int64_t count) const;
};

// A rows x cols matrix of `dtype` at `data`, kept alive by `storage`; block
// formats (Q8, Q4) add their 1 x block_cols scales.
WeightMatrix owned_matrix(std::string name, DType dtype, int64_t rows, int64_t cols, std::shared_ptr<const void> storage,
                          const uint8_t* data, std::shared_ptr<const std::vector<float>> block_scales = nullptr,
                          int block_cols = 0);

// Owns a float32 matrix and exposes it as a WeightMatrix.
WeightMatrix make_f32_weight(std::string name, int64_t rows, int64_t cols,
                             std::vector<float> values);
// Owns the values rounded to BF16 (to nearest even).
WeightMatrix make_bf16_weight(std::string name, int64_t rows, int64_t cols, const std::vector<float>& values);

}  // namespace frugal
