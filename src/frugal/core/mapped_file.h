#pragma once
// A read-only memory map of a whole file. Weights stay in the page cache and
// are shared between processes; nothing is copied until a kernel reads it.
#include <cstddef>
#include <cstdint>
#include <string>

namespace frugal {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps every page now (reading one byte per page, split over the thread
  // pool) so later reads take no page faults; returns the bytes touched.
  std::size_t prefault() const;

  const uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Drops the whole pages inside [data, data + size) of a read-only file
// mapping from this process's memory (madvise DONTNEED): after weights were
// converted, their stored bytes need not stay resident. Touching them again
// reads them back from the file, so this never loses data.
void release_mapped_pages(const void* data, std::size_t size);

// Writes a file atomically: data goes to a temporary file in the same folder,
// commit() flushes it to disk and renames it over the target. Destroying the
// writer without commit() (an error on the way) removes the temporary and
// leaves any old file untouched.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, std::size_t size);
  void commit();

 private:
  [[noreturn]] void abandon(const char* what);

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
};

void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace frugal
