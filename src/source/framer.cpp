// Framer: cuts a byte stream into line-aligned chunks.
// Every chunk is one contiguous slice of the decompressed stream, so for
// consecutive chunks of a source
//   offset[i] == offset[i-1] + size[i-1] + skipped_bytes[i].
// That is why an over-long line is never cut out of the middle of a chunk: the
// chunk ends before it, and it is dropped (and counted) at the head of the next.
#include "source/framer.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

namespace ds {
namespace {

// A line's length as the limit sees it: without '\n' and one trailing '\r'.
size_t content_length(const char* line, size_t n) {
  return n > 0 && line[n - 1] == '\r' ? n - 1 : n;
}

}  // namespace

Framer::Framer(ByteSource& src, FramerOptions opt, uint32_t source_index)
    : src_(src), opt_(opt), source_index_(source_index), map_(src.mapping()) {
  opt_.chunk_bytes = std::max<size_t>(opt_.chunk_bytes, 1);
  opt_.max_line_bytes = std::min<size_t>(opt_.max_line_bytes, SIZE_MAX / 4);  // "+ 2" below cannot wrap
}

size_t Framer::fill(PaddedBuffer& b, size_t size, size_t want) {
  if (map_) {
    const uint64_t avail = map_->size() - (win_ + size);
    if (avail > 0) {  // the bytes are there already: just widen the window
      const size_t n = static_cast<size_t>(std::min<uint64_t>(want, avail));
      src_.advance(n);
      return n;
    }
    // End of the mapping: the window moves into b and read(2) goes on from
    // here (the file may have grown; if it shrank, read() reports it).
    b.resize(0);
    b.reserve(std::max(opt_.chunk_bytes, size));
    if (size > 0) std::memcpy(b.data(), map_->data() + win_, size);
    map_.reset();
    win_ = 0;
  }
  if (size + want > b.capacity()) {
    // Grow geometrically, but not past the largest chunk we can ever build.
    const size_t bound = std::max(opt_.chunk_bytes, opt_.max_line_bytes + 2);
    b.resize(size);  // reserve() keeps only [0, size())
    b.reserve(std::max(size + want, std::min(bound, 2 * b.capacity())));
  }
  const long n = src_.read(b.data() + size, want);
  if (n > 0) return static_cast<size_t>(n);
  eof_ = true;
  read_error_ = n < 0;
  return 0;
}

void Framer::drop_front(PaddedBuffer& b, size_t n, size_t size) {
  if (map_) {
    win_ += n;
  } else {
    std::memmove(b.data(), b.data() + n, size - n);
  }
}

bool Framer::next(Chunk& out) {
  if (done_ || failed_) return false;
  out.clear_view();
  size_t chunk = opt_.chunk_bytes;
  // A large mapped file's tail in shrinking chunks (framer.hpp), so that
  // -j N's workers run out of it together instead of one parsing a whole
  // last chunk while the others wait.
  if (map_ && map_->size() > win_ && map_->size() / kTailShrinkChunks >= chunk)
    chunk = std::min(chunk, std::max(kTailChunkBytes, (map_->size() - win_) / 4));
  const size_t max_line = opt_.max_line_bytes;
  PaddedBuffer& b = out.buf;
  size_t size;
  if (map_) {
    size = std::exchange(map_carry_, 0);
  } else {
    size = carry_.size();
    b.resize(0);
    b.reserve(std::max(chunk, size));
    if (size > 0) std::memcpy(b.data(), carry_.data(), size);
    carry_.resize(0);
  }

  // [start, line_start): complete lines within the limit; [line_start, size):
  // a partial line; [scanned, size): bytes not yet looked at.
  size_t start = 0;
  size_t line_start = 0;
  size_t scanned = 0;
  for (;;) {
    const char* const p = window(b);
    while (scanned < size) {
      if (size - line_start <= max_line + 1) {
        // Nothing here can exceed the limit, so only the last '\n' matters.
        const void* nl = memrchr(p + scanned, '\n', size - scanned);
        if (nl) line_start = static_cast<const char*>(nl) - p + 1;
        scanned = size;
        break;
      }
      const void* nl = std::memchr(p + scanned, '\n', size - scanned);
      if (!nl) {
        scanned = size;
        break;
      }
      const size_t end = static_cast<const char*>(nl) - p + 1;  // one past the '\n'
      scanned = end;
      if (content_length(p + line_start, end - 1 - line_start) <= max_line) {
        line_start = end;
      } else if (line_start > start) {
        return deliver(out, start, line_start, size, false);  // the long line heads the next chunk
      } else {
        ++pending_skipped_;
        pending_skipped_bytes_ += end - start;
        offset_ += end - start;
        start = line_start = end;
      }
    }
    if (size - line_start > max_line + 1) {  // the partial line is already too long
      if (line_start > start) return deliver(out, start, line_start, size, false);
      // Drop it and discard input up to its '\n'; memory stays bounded.
      pending_skipped_bytes_ += size - start;
      offset_ += size - start;
      skipping_bytes_ = size - start;
      if (map_) {
        win_ += size;
        map_->release(win_);  // never looked at again: keep RSS bounded
      }
      start = line_start = scanned = size = 0;
      skipping_ = true;
    }
    if (line_start > start && size - start >= chunk) return deliver(out, start, line_start, size, false);
    if (eof_) return finish(out, start, line_start, size);
    // A live pipe with nothing more ready: hand over the complete lines now.
    if (line_start > start && src_.would_block()) return deliver(out, start, line_start, size, false);

    if (start > 0) {  // make room at the end
      drop_front(b, start, size);
      size -= start;
      line_start -= start;
      scanned -= start;
      start = 0;
    }
    if (skipping_) {
      const size_t n = fill(b, 0, chunk);
      const char* w = window(b);
      const void* nl = std::memchr(w, '\n', n);
      const size_t dropped = nl ? static_cast<const char*>(nl) - w + 1 : n;
      pending_skipped_bytes_ += dropped;
      offset_ += dropped;
      skipping_bytes_ += dropped;
      if (nl) {
        ++pending_skipped_;
        skipping_ = false;
        skipping_bytes_ = 0;
        start = line_start = scanned = dropped;
        size = n;
      } else if (map_) {
        win_ += n;  // all of it discarded (b is simply overwritten)
        map_->release(win_);  // and never looked at again: keep RSS bounded
      }
      continue;
    }
    // Read up to a chunk; past that only a single partial line is held, and it
    // may grow to the limit (plus "\r\n") before it is known to be too long.
    const size_t want = size < chunk ? chunk - size : std::min(chunk, max_line + 2 - size);
    size += fill(b, size, want);
  }
}

bool Framer::finish(Chunk& out, size_t start, size_t line_start, size_t size) {
  if (read_error_) {
    // A torn tail is not a line: deliver the complete lines (and count the
    // over-long lines skipped before it), then report. A torn over-long line
    // is not a line either: its discarded bytes are not counted.
    if (skipping_) {
      pending_skipped_bytes_ -= skipping_bytes_;
      offset_ -= skipping_bytes_;
      skipping_ = false;
      skipping_bytes_ = 0;
    }
    if (line_start > start || pending_skipped_ > 0) return deliver(out, start, line_start, line_start, false);
    failed_ = true;
    return false;
  }
  if (skipping_) {  // the input ended inside an over-long line
    ++pending_skipped_;
    skipping_ = false;
  }
  const char* p = window(out.buf);
  if (size > line_start && content_length(p + line_start, size - line_start) > opt_.max_line_bytes) {
    // An over-long final line without '\n'. Its count belongs to the chunk after the lines before it.
    if (line_start > start) return deliver(out, start, line_start, size, false);
    ++pending_skipped_;
    pending_skipped_bytes_ += size - start;
    offset_ += size - start;
    start = line_start = size;
  }
  // Always end with a last_of_source chunk, possibly empty, so consumers see
  // the end of every source and no skipped count is lost.
  done_ = true;
  return deliver(out, start, size, size, true);
}

bool Framer::deliver(Chunk& out, size_t start, size_t cut, size_t size, bool last) {
  PaddedBuffer& b = out.buf;
  const size_t n = cut - start;
  if (map_) {
    const uint64_t from = win_ + start;
    if (n > 0 && from + n + kChunkPadding <= map_->readable()) {
      out.view = map_->data() + from;  // zero-copy: the padding is the bytes that follow
      out.view_size = n;
      out.mapping = map_;
      // Map its pages now, in one call: cheaper than the worker's page faults
      // (one per 64 KiB), and off the worker's path at -j 1.
      map_->populate(from, n + kChunkPadding);
      b.resize(0);
    } else {  // too close to the end of the mapping for the padding
      b.resize(0);
      b.reserve(n);
      if (n > 0) std::memcpy(b.data(), map_->data() + from, n);
      b.resize(n);
      b.pad();
    }
    win_ += cut;
    map_carry_ = size - cut;
  } else {
    const size_t rest = size - cut;
    carry_.resize(0);
    carry_.reserve(rest);
    if (rest > 0) std::memcpy(carry_.data(), b.data() + cut, rest);
    carry_.resize(rest);
    if (start > 0 && n > 0) std::memmove(b.data(), b.data() + start, n);
    b.resize(n);
    b.pad();
  }
  out.seq = 0;
  out.source_index = source_index_;
  out.source_offset = offset_;
  out.skipped_long_lines = pending_skipped_;
  out.skipped_bytes = pending_skipped_bytes_;
  out.last_of_source = last;
  pending_skipped_ = 0;
  pending_skipped_bytes_ = 0;
  offset_ += n;
  return true;
}

}  // namespace ds
