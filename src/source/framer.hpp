// Framer: turns a ByteSource into line-aligned, padded Chunks.
// Reads blocks of about `chunk_bytes`, cuts after the last '\n', carries the
// partial tail into the next chunk. A final line without '\n' is still a line.
// A line longer than `max_line_bytes` is skipped whole (counted on the next
// chunk as skipped_long_lines) without ever buffering more than the limit.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/chunk.hpp"
#include "source/byte_source.hpp"

namespace ds {

struct FramerOptions {
  size_t chunk_bytes = 4u << 20;      // target chunk size
  size_t max_line_bytes = 8u << 20;   // longer lines are skipped whole
};

class Framer {
 public:
  Framer(ByteSource& src, FramerOptions opt, uint32_t source_index);
  // Fills `out` with the next chunk (reusing out.buf's memory). Returns false
  // at end of input once everything has been delivered (a final chunk may
  // carry only skipped_long_lines and no data). Sets out.seq = 0; the caller
  // assigns global sequence numbers. On read error returns false and
  // failed() is true.
  bool next(Chunk& out);
  bool failed() const { return failed_; }
  const std::string& error() const { return src_.error(); }

 private:
  // implementation-defined members
  ByteSource& src_;
  FramerOptions opt_;
  uint32_t source_index_;
  bool failed_ = false;
  bool eof_ = false;
  bool skipping_ = false;        // inside an over-long line, discarding to next '\n'
  uint64_t pending_skipped_ = 0;
  uint64_t pending_skipped_bytes_ = 0;
  uint64_t offset_ = 0;          // decompressed offset of the next byte to deliver
  PaddedBuffer carry_;           // partial line carried to the next chunk
};

}  // namespace ds
