#include "frugal/kernels/weight_matrix.h"

#include <cstring>

#include "frugal/core/error.h"
#include "frugal/kernels/fp8.h"
#include "frugal/kernels/q4.h"
#include "frugal/kernels/q4_interleaved.h"
#include "frugal/kernels/q8_interleaved.h"

namespace frugal {

std::size_t WeightMatrix::stored_bytes() const {
  std::size_t bytes = static_cast<std::size_t>(rows) * row_bytes();
  if (scales) {
    const int64_t block_row_count = (rows + block_rows - 1) / block_rows;
    bytes += static_cast<std::size_t>(block_row_count * scale_cols) * sizeof(float);
  }
  return bytes;
}

void WeightMatrix::decode_row(int64_t row, float* out) const {
  const uint8_t* src = data + static_cast<std::size_t>(row) * row_bytes();
  if (!scales) {
    decode_to_f32(dtype, src, static_cast<std::size_t>(cols), out);
    return;
  }
  // Block-scaled: FP8 E4M3 (checkpoint), int8 or 4-bit (Q8, Q4: converted at load).
  const float* scale_row = scales->data() + ((row_offset + row) / block_rows) * scale_cols;
  if (interleaved_rows > 0) {
    const int64_t first = row / interleaved_rows * interleaved_rows;  // of the row's group
    const uint8_t* group = data + static_cast<std::size_t>(first) * row_bytes();
    const float* group_scales = scales->data() + (row_offset + first) * scale_cols;
    const int j = static_cast<int>(row - first);
    if (dtype == DType::Q4) {
      q4_interleaved_decode_row(group, group_scales, cols, j, out);
    } else {
      q8_interleaved_decode_row(group, group_scales, cols, j, out);
    }
    return;
  }
  if (dtype == DType::Q4) {
    dequantize_q4_row(src, scale_row, cols, out);
    return;
  }
  if (dtype == DType::F8_E4M3) {
    decode_fp8_e4m3_row(src, cols, scale_row, block_cols, out);
    return;
  }
  for (int64_t c0 = 0, block = 0; c0 < cols; c0 += block_cols, ++block) {
    const float scale = scale_row[block];
    const int64_t c1 = c0 + block_cols < cols ? c0 + block_cols : cols;
    if (dtype == DType::I8) {
      for (int64_t c = c0; c < c1; ++c) out[c] = static_cast<float>(static_cast<int8_t>(src[c])) * scale;
    } else {
      for (int64_t c = c0; c < c1; ++c) out[c] = fp8_e4m3_to_f32(src[c]) * scale;
    }
  }
}

float WeightMatrix::element(int64_t row, int64_t col) const {
  if (interleaved_rows > 0) {  // Q8 and Q4 group their scales alike
    const float scale = q8_interleaved_scale(scales->data(), cols, row_offset + row, col);
    if (dtype == DType::Q4) return static_cast<float>(q4_interleaved_code(data, cols, row, col) - 8) * scale;
    return static_cast<float>(q8_interleaved_code(data, cols, row, col)) * scale;
  }
  const uint8_t* row_start = data + static_cast<std::size_t>(row) * row_bytes();
  float value;
  if (dtype == DType::Q4) {
    value = static_cast<float>(q4_code(row_start, cols, col) - 8);
  } else if (dtype == DType::I8) {
    value = static_cast<float>(static_cast<int8_t>(row_start[col]));
  } else {
    decode_to_f32(dtype, row_start + col * dtype_size(dtype), 1, &value);
  }
  if (scales) value *= (*scales)[((row_offset + row) / block_rows) * scale_cols + col / block_cols];
  return value;
}

WeightMatrix WeightMatrix::row_slice(int64_t begin, int64_t count) const {
  if (begin < 0 || count < 0 || begin + count > rows)
    fail(name, ": row slice [", begin, ", ", begin + count, ") outside ", rows, " rows");
  if (interleaved_rows > 0 && (begin % interleaved_rows != 0 || count % interleaved_rows != 0))
    fail(name, ": rows [", begin, ", ", begin + count, ") cut a group of ", interleaved_rows,
         " interleaved Q8 rows (slices start and end at multiples of ", interleaved_rows, ")");
  WeightMatrix view = *this;
  view.data = data + static_cast<std::size_t>(begin) * row_bytes();
  view.rows = count;
  view.row_offset = row_offset + begin;
  view.panels.reset();
  return view;
}

WeightMatrix owned_matrix(std::string name, DType dtype, int64_t rows, int64_t cols, std::shared_ptr<const void> storage,
                          const uint8_t* data, std::shared_ptr<const std::vector<float>> block_scales,
                          int block_cols) {
  WeightMatrix w;
  w.name = std::move(name);
  w.dtype = dtype;
  w.rows = rows;
  w.cols = cols;
  w.data = data;
  w.storage = std::move(storage);
  if (block_scales) {
    w.scales = std::move(block_scales);
    w.block_rows = 1;
    w.block_cols = block_cols;
    w.scale_cols = cols / block_cols;
  }
  return w;
}

WeightMatrix make_f32_weight(std::string name, int64_t rows, int64_t cols,
                             std::vector<float> values) {
  if (static_cast<int64_t>(values.size()) != rows * cols)
    fail(name, ": ", values.size(), " values for a ", rows, " x ", cols, " matrix");
  auto bytes = std::make_shared<std::vector<uint8_t>>(values.size() * sizeof(float));
  std::memcpy(bytes->data(), values.data(), bytes->size());
  const uint8_t* data = bytes->data();
  return owned_matrix(std::move(name), DType::F32, rows, cols, std::move(bytes), data);
}

WeightMatrix make_bf16_weight(std::string name, int64_t rows, int64_t cols, const std::vector<float>& values) {
  if (static_cast<int64_t>(values.size()) != rows * cols)
    fail(name, ": ", values.size(), " values for a ", rows, " x ", cols, " matrix");
  auto bytes = std::make_shared<std::vector<uint8_t>>(values.size() * 2);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const uint16_t bits = f32_to_bf16(values[i]);
    std::memcpy(bytes->data() + 2 * i, &bits, 2);
  }
  const uint8_t* data = bytes->data();
  return owned_matrix(std::move(name), DType::BF16, rows, cols, std::move(bytes), data);
}

}  // namespace frugal
