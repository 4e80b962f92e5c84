// Chunk: a line-aligned block of input, padded for simdjson.
// The framer guarantees: data() holds only whole lines (the last one may lack
// its '\n' only at end of input), and at least kChunkPadding readable bytes
// follow size(). Views into a chunk never outlive it. The bytes are either in
// `buf` or, for a mapped file (source/mapped_file.hpp), a view into the
// mapping that `mapping` holds alive.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>

namespace ds {

class MappedFile;  // source/mapped_file.hpp

inline constexpr size_t kChunkPadding = 64;  // >= SIMDJSON_PADDING (checked in parse/)

class PaddedBuffer {
 public:
  PaddedBuffer() = default;
  explicit PaddedBuffer(size_t capacity) { reserve(capacity); }
  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }  // usable bytes, padding excluded
  void resize(size_t n) { size_ = n; }           // n <= capacity()
  // Grows capacity, keeping contents. Allocates; call only off the per-line path.
  void reserve(size_t n) {
    if (n <= capacity_) return;
    std::unique_ptr<char[]> fresh(new char[n + kChunkPadding]);
    if (size_) std::memcpy(fresh.get(), data_.get(), size_);
    std::memset(fresh.get() + n, 0, kChunkPadding);
    data_ = std::move(fresh);
    capacity_ = n;
  }
  // Zero the padding after the current contents (simdjson reads it).
  void pad() {
    if (data_) std::memset(data_.get() + size_, 0, kChunkPadding);
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

struct Chunk {
  uint64_t seq = 0;            // global sequence number across all inputs
  uint32_t source_index = 0;   // index of the input in command-line order
  uint64_t source_offset = 0;  // offset of data() in the decompressed input stream
  uint64_t skipped_long_lines = 0;  // lines longer than the limit that the framer dropped just before this chunk
  uint64_t skipped_bytes = 0;       // bytes of those lines (newlines included)
  bool last_of_source = false;
  PaddedBuffer buf;
  const char* view = nullptr;  // when set: the bytes, instead of buf
  size_t view_size = 0;
  std::shared_ptr<const MappedFile> mapping;  // what `view` points into

  const char* data() const { return view ? view : buf.data(); }
  size_t size() const { return view ? view_size : buf.size(); }
  // Back to buf (producers fill buf; drops the hold on a mapping).
  void clear_view() {
    view = nullptr;
    view_size = 0;
    mapping.reset();
  }
};

}  // namespace ds
