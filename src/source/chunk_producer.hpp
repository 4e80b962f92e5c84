// ChunkProducer: what the pipeline's reader thread takes chunks from. `scan`
// produces them from a list of files (FileListProducer, framer-based, ends at
// EOF); `tail` from a FileFollower (never ends by itself, may be idle).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/chunk.hpp"

namespace ds {

enum class Produce {
  chunk,  // `out` holds the next chunk (line-aligned, padded)
  idle,   // nothing available right now; call again (returns within ~100 ms)
  end,    // no more chunks, ever
};

class ChunkProducer {
 public:
  virtual ~ChunkProducer() = default;
  // Reader thread only. Fills `out` (reusing its memory) on Produce::chunk.
  virtual Produce next(Chunk& out) = 0;
  // Inputs that could not be read (fully), for RunStats::input_errors.
  virtual std::vector<std::string> take_errors() { return {}; }
  // Raw bytes consumed so far (progress display).
  virtual uint64_t raw_bytes_done() const { return 0; }
};

}  // namespace ds
