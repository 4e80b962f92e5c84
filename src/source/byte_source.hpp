// ByteSource: a stream of (decompressed) input bytes. Implementations: plain
// file, stdin, gzip (multi-member), zstd (multi-frame), chosen by magic bytes.
// Must never: throw, or read beyond what it was asked for into the caller.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "source/mapped_file.hpp"

namespace ds {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes into dst. Returns bytes read; 0 means end of input.
  // On an I/O or decompression error returns -1 and error() says why.
  virtual long read(char* dst, size_t n) = 0;
  virtual const std::string& error() const = 0;
  virtual const std::string& name() const = 0;
  // Bytes consumed from the underlying file (compressed bytes for gz/zst), for progress.
  virtual uint64_t raw_bytes_read() const = 0;
  // Size of the underlying file if known (0 for pipes), for progress/ETA.
  virtual uint64_t raw_size() const = 0;
  // True when the next read() would block: a pipe, socket or terminal with
  // nothing buffered and nothing ready (poll with timeout 0). The framer then
  // hands over the complete lines it has instead of waiting for a full chunk,
  // so `tail -F log | distillscan scan -` alerts as lines arrive. Regular
  // files and compressed inputs never report it (they are read to the end).
  virtual bool would_block() const { return false; }
  // A regular plain file mapped into memory (source/mapped_file.hpp), or null.
  // The framer then frames views of the mapping and reports each byte it
  // takes with advance(); read() continues after those bytes.
  virtual std::shared_ptr<const MappedFile> mapping() const { return nullptr; }
  virtual void advance(uint64_t /*n*/) {}
};

enum class Compression { none, gzip, zstd };

// Opens path ("-" = stdin) and picks the decoder from the first bytes. A
// non-empty regular plain file (not stdin) is mapped, unless mmap_disabled()
// or the mapping fails (then it is read with read(2) like the others).
Result<std::unique_ptr<ByteSource>> open_input(const std::string& path);

// The gzip decoder open_input() uses now: "isa-l" (built with ISA-L, the
// default) or "zlib" (built without it, or DISTILLSCAN_GZIP=zlib).
const char* gzip_decoder();

// Tests and fuzzing only: the largest single read(2) of a buffered input
// (default and 0: 1 MiB), so decoders see their input in small pieces.
// Not thread-safe; set it before opening inputs.
void set_raw_read_limit_for_tests(size_t n);

}  // namespace ds
