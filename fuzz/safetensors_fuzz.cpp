// libFuzzer target: safetensors parsing of arbitrary bytes. Opening may fail
// with frugal::Error, never crash; every view it accepts lies inside the file.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "frugal/core/error.h"
#include "frugal/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/frugal-fuzz-" + std::to_string(::getpid()) + ".safetensors";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const frugal::SafetensorsFile file(path);
    for (const auto& [name, view] : file.tensors()) {
      volatile uint8_t sink = 0;
      for (uint64_t i = 0; i < view.byte_size; i += 4096) sink = sink + view.data[i];  // touch every page
      if (view.byte_size > 0) sink = sink + view.data[view.byte_size - 1];
      if (frugal::dtype_is_float(view.dtype) && view.numel() < (1 << 16)) (void)view.to_f32();
    }
  } catch (const frugal::Error&) {
  }
  return 0;
}
