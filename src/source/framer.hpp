// Framer: turns a ByteSource into line-aligned, padded Chunks.
// Reads blocks of about `chunk_bytes`, cuts after the last '\n', carries the
// partial tail into the next chunk. A final line without '\n' is still a line.
// A line longer than `max_line_bytes` is skipped whole (counted on the next
// chunk as skipped_long_lines) without ever buffering more than the limit
// (out.buf never grows past max(chunk_bytes, max_line_bytes + 2)).
//
// A mapped source (ByteSource::mapping(), scan's regular files) is framed
// the same way without copying: the window is a range of the mapping,
// chunks are views into it, and only a chunk too close to the end of the
// mapping for its padding is copied into out.buf. At the end of the mapping
// the framer goes on with read() (the file may have grown). The one
// difference: a mapped file of at least kTailShrinkChunks chunks is cut
// into smaller chunks towards its end (see next()), so the same bytes may
// come in more chunks than read() would make.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/chunk.hpp"
#include "source/byte_source.hpp"
#include "source/mapped_file.hpp"

namespace ds {

// A mapped file of at least kTailShrinkChunks x chunk_bytes has its tail
// framed in shrinking chunks: the target size falls to a quarter of what is
// left, but not below kTailChunkBytes (nor above chunk_bytes). Framer::next.
inline constexpr size_t kTailShrinkChunks = 8;
inline constexpr size_t kTailChunkBytes = size_t{256} << 10;

struct FramerOptions {
  size_t chunk_bytes = 4u << 20;     // target chunk size
  size_t max_line_bytes = 8u << 20;  // longer lines are skipped whole
};

class Framer {
 public:
  Framer(ByteSource& src, FramerOptions opt, uint32_t source_index);
  // Fills `out` with the next chunk (reusing out.buf's memory). Returns false
  // at end of input once everything has been delivered. Every source ends
  // with exactly one last_of_source chunk, which may be empty (empty input, or
  // only skipped_long_lines left to report). Chunks are contiguous slices of
  // the stream: source_offset == previous source_offset + previous size +
  // skipped_bytes. Sets out.seq = 0; the caller assigns global sequence
  // numbers. On read error the complete lines already read are delivered
  // first (the torn tail is dropped), then it returns false and failed() is true.
  bool next(Chunk& out);
  bool failed() const { return failed_; }
  const std::string& error() const { return src_.error(); }

 private:
  // Fills [size, size + want) of b from src_ (growing b if needed); sets eof_
  // or read_error_ when the source ends. Returns bytes read.
  size_t fill(PaddedBuffer& b, size_t size, size_t want);
  // The window's bytes: [window(b), window(b) + size) is the stream from window_offset().
  const char* window(const PaddedBuffer& b) const { return map_ ? map_->data() + win_ : b.data(); }
  // Drops the first n bytes of the window.
  void drop_front(PaddedBuffer& b, size_t n, size_t size);
  // Moves [start, cut) to the front of out.buf, keeps [cut, size) for the next call.
  bool deliver(Chunk& out, size_t start, size_t cut, size_t size, bool last);
  // End of input: the final line (if any), the last chunk, or the read error.
  bool finish(Chunk& out, size_t start, size_t line_start, size_t size);

  ByteSource& src_;
  FramerOptions opt_;
  uint32_t source_index_;
  bool failed_ = false;
  bool eof_ = false;         // the source is exhausted (or failed): never read again
  bool read_error_ = false;  // deliver the complete lines read so far, then fail
  bool done_ = false;        // the last_of_source chunk has been delivered
  bool skipping_ = false;    // inside an over-long line, discarding to next '\n'
  uint64_t pending_skipped_ = 0;
  uint64_t pending_skipped_bytes_ = 0;
  uint64_t skipping_bytes_ = 0;  // bytes of the over-long line being discarded (in pending_skipped_bytes_)
  uint64_t offset_ = 0;  // decompressed offset of the first byte neither delivered nor skipped
  PaddedBuffer carry_;   // bytes read but not yet delivered (usually a partial line)
  // Mapped mode: the window starts at win_ in the mapping; map_carry_ bytes
  // of it are carried into the next call (carry_ is unused).
  std::shared_ptr<const MappedFile> map_;
  uint64_t win_ = 0;
  size_t map_carry_ = 0;
};

}  // namespace ds
