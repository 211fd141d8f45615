#include "frugal/io/safetensors.h"

#include <algorithm>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"

namespace frugal {
namespace {

using json = nlohmann::json;

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

// numel * element size, or fails on overflow past the file-size range.
uint64_t checked_byte_size(const std::string& file, const std::string& name,
                           const std::vector<int64_t>& shape, std::size_t element_size) {
  uint64_t total = element_size;
  for (int64_t d : shape) {
    const auto dim = static_cast<uint64_t>(d);
    if (dim != 0 && total > std::numeric_limits<uint64_t>::max() / dim)
      fail(file, ": tensor '", name, "': shape is too large (size overflows)");
    total *= dim;
  }
  return total;
}

// Validates one header entry; `data` is the start of the data section.
TensorView parse_entry(const std::string& file, const std::string& name, const json& entry,
                       const uint8_t* data, uint64_t data_size) {
  auto bad = [&](const auto&... what) { fail(file, ": tensor '", name, "': ", what...); };
  if (!entry.is_object()) bad("header entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) bad("header entry has no \"", key, "\"");

  TensorView view;
  view.name = name;
  view.file = file;
  const json& dtype = entry["dtype"];
  if (!dtype.is_string()) bad("\"dtype\" is not a string");
  const auto type = dtype_from_name(dtype.get<std::string>());
  if (!type) bad("unknown dtype \"", dtype.get<std::string>(), "\"");
  view.dtype = *type;

  const json& shape = entry["shape"];
  if (!shape.is_array()) bad("\"shape\" is not an array");
  for (const json& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      bad("\"shape\" must hold non-negative integers, got ", shape.dump());
    view.shape.push_back(d.get<int64_t>());
  }

  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    bad("\"data_offsets\" must be two non-negative integers, got ", offsets.dump());
  const auto begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  if (begin > end) bad("data_offsets [", begin, ", ", end, "] are reversed");
  if (end > data_size)
    bad("data_offsets [", begin, ", ", end, "] run past the end of the data (", data_size,
        " bytes; file truncated?)");
  const uint64_t expected = checked_byte_size(file, name, view.shape, dtype_size(view.dtype));
  if (end - begin != expected)
    bad("dtype ", dtype_name(view.dtype), " x shape ", view.shape_string(), " needs ", expected,
        " bytes but data_offsets span ", end - begin);
  view.byte_size = expected;
  view.data = data + begin;
  return view;
}

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

std::string TensorView::shape_string() const { return frugal::shape_string(shape); }

std::vector<float> TensorView::to_f32() const {
  if (!dtype_is_float(dtype))
    fail(file, ": tensor '", name, "' has dtype ", dtype_name(dtype), ", expected a float type");
  std::vector<float> out(static_cast<std::size_t>(numel()));
  decode_to_f32(dtype, data, out.size(), out.data());
  return out;
}

SafetensorsFile::SafetensorsFile(const std::string& path)
    : mapping_(std::make_shared<MappedFile>(path)) {
  const uint8_t* bytes = mapping_->data();
  const uint64_t size = mapping_->size();
  if (size < 8) fail(path, ": too short for a safetensors file (", size, " bytes)");
  const uint64_t header_size = read_u64_le(bytes);
  if (header_size > kMaxSafetensorsHeaderBytes)
    fail(path, ": header length ", header_size, " exceeds the limit of ",
         kMaxSafetensorsHeaderBytes, " bytes (not a safetensors file?)");
  if (header_size > size - 8)
    fail(path, ": header length ", header_size, " runs past the end of the file (", size,
         " bytes; file truncated?)");

  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_size);
  } catch (const json::exception& e) {
    fail(path, ": header is not valid JSON: ", e.what());
  }
  if (!header.is_object()) fail(path, ": header is not a JSON object");

  const uint8_t* data_start = bytes + 8 + header_size;
  const uint64_t data_size = size - 8 - header_size;
  std::vector<std::pair<uint64_t, const TensorView*>> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path, ": __metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) fail(path, ": __metadata__ value of '", key, "' is not a string");
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    tensors_.emplace(name, parse_entry(path, name, entry, data_start, data_size));
  }
  for (const auto& [name, view] : tensors_) {
    if (view.byte_size > 0) spans.emplace_back(static_cast<uint64_t>(view.data - data_start), &view);
  }
  std::sort(spans.begin(), spans.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < spans.size(); ++i) {
    const auto& [prev_begin, prev] = spans[i - 1];
    if (spans[i].first < prev_begin + prev->byte_size)
      fail(path, ": tensors '", prev->name, "' and '", spans[i].second->name,
           "' overlap in the data section");
  }
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorView& SafetensorsFile::get(const std::string& name) const {
  const TensorView* view = find(name);
  if (view == nullptr) fail(path(), ": no tensor named '", name, "'");
  return *view;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__") fail(path, ": invalid tensor name '", t.name, "'");
    if (!names.insert(t.name).second) fail(path, ": tensor '", t.name, "' written twice");
    for (int64_t d : t.shape)
      if (d < 0) fail(path, ": tensor '", t.name, "' has a negative dimension");
    const uint64_t bytes = checked_byte_size(path, t.name, t.shape, dtype_size(t.dtype));
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data section to 8 bytes
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(text.size() >> (8 * i));

  AtomicFileWriter writer(path);
  writer.write(length, sizeof length);
  writer.write(text.data(), text.size());
  for (const auto& t : tensors) {
    const uint64_t bytes = checked_byte_size(path, t.name, t.shape, dtype_size(t.dtype));
    if (bytes > 0) writer.write(t.data, bytes);
  }
  writer.commit();
}

}  // namespace frugal
