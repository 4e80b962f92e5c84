// fuzz_framer: the Framer across arbitrary read splits, limits and read errors.
// Input layout (FuzzedDataProvider): from the end, chunk_bytes, max_line_bytes,
// an optional read-error offset and up to 16 read sizes; the remaining bytes
// (from the front) are the stream. A fake ByteSource returns the stream in
// reads of the scheduled sizes (cycled), or fails with -1 at the error offset.
//
// Invariants (checked after every chunk and at the end):
//  - chunks are contiguous slices of the stream:
//      source_offset == previous end + skipped_bytes, data == stream[offset, +size)
//    so concatenated data + skipped bytes == the stream (or, after a read
//    error, its prefix up to the last '\n' before the error);
//  - each chunk starts at a line start and holds whole lines (only the very
//    last chunk of a stream without a final '\n' ends mid-line), each within
//    max_line_bytes ('\n' and one trailing '\r' excluded);
//  - the skipped bytes before a chunk are exactly skipped_long_lines whole
//    lines, each longer than max_line_bytes;
//  - the kChunkPadding bytes after the data are zero;
//  - the buffer never grows past max(chunk_bytes, max_line_bytes + 2);
//  - exactly one last_of_source chunk (the final one) without a read error,
//    none with one, and failed() exactly when the source failed;
//  - the source is never asked for 0 bytes nor read after it returned 0 / -1.
// Without an injected error, the stream is also written to a memfd and
// framed mapped (open_input maps regular files, source/mapped_file.hpp): the
// chunks must equal those of plain reads of the same file, chunk for chunk,
// and every view must have readable padding inside the mapping. (A stream
// that starts with a gzip or zstd magic is decoded by open_input: the two
// ways must still agree, failure included; a plain one must not fail.)
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "source/byte_source.hpp"
#include "source/framer.hpp"
#include "source/mapped_file.hpp"

namespace {

using namespace ds;

class ScheduledSource final : public ByteSource {
 public:
  ScheduledSource(const std::string& data, std::vector<size_t> sizes, size_t fail_at)
      : data_(data), sizes_(std::move(sizes)), fail_at_(fail_at) {}
  long read(char* dst, size_t n) override {
    DS_FUZZ_CHECK(n > 0);
    DS_FUZZ_CHECK(!ended_);
    size_t k = sizes_.empty() ? n : std::min(n, sizes_[calls_++ % sizes_.size()]);
    if (pos_ >= fail_at_) {
      ended_ = true;
      err_ = "injected read error";
      return -1;
    }
    k = std::min({k, data_.size() - pos_, fail_at_ - pos_});
    if (k == 0) {
      ended_ = true;
      return 0;
    }
    std::memcpy(dst, data_.data() + pos_, k);
    pos_ += k;
    return static_cast<long>(k);
  }
  const std::string& error() const override { return err_; }
  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_read() const override { return pos_; }
  uint64_t raw_size() const override { return data_.size(); }

 private:
  const std::string& data_;
  std::vector<size_t> sizes_;
  size_t fail_at_;
  size_t pos_ = 0;
  size_t calls_ = 0;
  bool ended_ = false;
  std::string err_, name_ = "fuzz";
};

size_t content_length(const std::string& s, size_t begin, size_t end) {  // [begin, end) without '\n'
  if (end > begin && s[end - 1] == '\r') --end;
  return end - begin;
}

// Lines in [begin, end) of s (a final line without '\n' counts).
uint64_t count_lines(const std::string& s, size_t begin, size_t end) {
  uint64_t n = 0;
  for (size_t i = begin; i < end; ++i) n += s[i] == '\n';
  if (end > begin && s[end - 1] != '\n') ++n;
  return n;
}

struct Framed {
  uint64_t offset, skipped, skipped_bytes;
  bool last;
  std::string data;
  bool operator==(const Framed&) const = default;
};

struct FramedFile {
  std::vector<Framed> chunks;
  bool failed;
  bool operator==(const FramedFile&) const = default;
};

// Frames `path` (opened by open_input: mapped unless DISTILLSCAN_NO_MMAP).
FramedFile frame_file(const std::string& path, FramerOptions opt, bool mapped) {
  if (!mapped) ::setenv("DISTILLSCAN_NO_MMAP", "1", 1);
  auto src = open_input(path);
  ::unsetenv("DISTILLSCAN_NO_MMAP");
  DS_FUZZ_CHECK(src);
  auto map = (*src)->mapping();
  Framer framer(**src, opt, 0);
  std::vector<Framed> out;
  Chunk c;
  while (framer.next(c)) {
    if (c.view) {
      DS_FUZZ_CHECK(map && c.mapping == map);
      DS_FUZZ_CHECK(c.view >= map->data() && c.view + c.view_size + kChunkPadding <= map->data() + map->readable());
    }
    out.push_back({c.source_offset, c.skipped_long_lines, c.skipped_bytes, c.last_of_source,
                   std::string(c.data(), c.size())});
  }
  return {std::move(out), framer.failed()};
}

// The stream as a regular file in memory (one memfd per process, rewritten).
std::string as_file(const std::string& stream) {
  static const int fd = ::memfd_create("fuzz_framer", 0);
  DS_FUZZ_CHECK(fd >= 0);
  DS_FUZZ_CHECK(::ftruncate(fd, 0) == 0);
  DS_FUZZ_CHECK(stream.empty() || ::pwrite(fd, stream.data(), stream.size(), 0) == static_cast<ssize_t>(stream.size()));
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  FramerOptions opt;
  opt.chunk_bytes = in.ConsumeIntegralInRange<size_t>(1, 96);
  const uint8_t line_sel = in.ConsumeIntegral<uint8_t>();
  opt.max_line_bytes = line_sel >= 240 ? (size_t{8} << 20) : 1 + line_sel % 64;
  const bool inject_error = in.ConsumeBool();
  const size_t error_frac = in.ConsumeIntegral<uint16_t>();
  std::vector<size_t> sizes(in.ConsumeIntegralInRange<size_t>(0, 16));
  for (auto& s : sizes) s = in.ConsumeIntegralInRange<size_t>(1, 80);
  const std::string stream = in.ConsumeRemainingBytesAsString();
  const size_t fail_at = inject_error ? (stream.empty() ? 0 : error_frac % (stream.size() + 1)) : SIZE_MAX;

  static const bool verbose = std::getenv("DS_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "chunk_bytes=%zu max_line_bytes=%zu fail_at=%zu stream=%zu reads:", opt.chunk_bytes,
                 opt.max_line_bytes, fail_at, stream.size());
    for (size_t s : sizes) std::fprintf(stderr, " %zu", s);
    std::fprintf(stderr, "\n");
  }
  ScheduledSource src(stream, sizes, fail_at);
  Framer framer(src, opt, 7);
  const size_t bound = std::max(opt.chunk_bytes, opt.max_line_bytes + 2);
  const size_t limit = std::min(stream.size(), fail_at);  // bytes the source will hand out

  Chunk chunk;
  uint64_t pos = 0, lines = 0, chunks = 0;
  bool saw_last = false;
  while (framer.next(chunk)) {
    DS_FUZZ_CHECK(++chunks <= 2 * stream.size() + 2);  // progress: no endless empty chunks
    DS_FUZZ_CHECK(!saw_last);
    saw_last = chunk.last_of_source;
    DS_FUZZ_CHECK(chunk.source_index == 7);
    DS_FUZZ_CHECK(chunk.buf.capacity() <= bound);
    // Skipped long lines, then the data, contiguous.
    DS_FUZZ_CHECK(chunk.source_offset == pos + chunk.skipped_bytes);
    DS_FUZZ_CHECK(chunk.source_offset + chunk.buf.size() <= limit);
    DS_FUZZ_CHECK((chunk.skipped_long_lines == 0) == (chunk.skipped_bytes == 0));
    if (chunk.skipped_bytes) {
      DS_FUZZ_CHECK(count_lines(stream, pos, chunk.source_offset) == chunk.skipped_long_lines);
      for (size_t b = pos; b < chunk.source_offset;) {
        size_t e = stream.find('\n', b);
        e = (e == std::string::npos || e >= chunk.source_offset) ? chunk.source_offset : e;
        DS_FUZZ_CHECK(content_length(stream, b, e) > opt.max_line_bytes);
        b = e + 1;
      }
      DS_FUZZ_CHECK(chunk.source_offset == stream.size() || stream[chunk.source_offset - 1] == '\n');
      lines += chunk.skipped_long_lines;
    }
    const size_t n = chunk.buf.size();
    DS_FUZZ_CHECK(chunk.source_offset == 0 || chunk.source_offset == stream.size() ||
                  stream[chunk.source_offset - 1] == '\n');
    DS_FUZZ_CHECK(n == 0 || std::memcmp(chunk.buf.data(), stream.data() + chunk.source_offset, n) == 0);
    const bool at_end = chunk.source_offset + n == stream.size();
    if (n > 0) DS_FUZZ_CHECK(chunk.buf.data()[n - 1] == '\n' || (chunk.last_of_source && at_end));
    for (size_t i = 0; i < kChunkPadding; ++i) DS_FUZZ_CHECK(chunk.buf.data()[n + i] == 0);
    for (size_t b = 0; b < n;) {
      const void* nl = std::memchr(chunk.buf.data() + b, '\n', n - b);
      const size_t e = nl ? static_cast<size_t>(static_cast<const char*>(nl) - chunk.buf.data()) : n;
      size_t len = e - b;
      if (len > 0 && chunk.buf.data()[e - 1] == '\r') --len;
      DS_FUZZ_CHECK(len <= opt.max_line_bytes);
      ++lines;
      b = e + 1;
    }
    pos = chunk.source_offset + n;
    if (verbose)
      std::fprintf(stderr, "chunk offset=%llu size=%zu skipped=%llu/%llu last=%d\n",
                   static_cast<unsigned long long>(chunk.source_offset), n,
                   static_cast<unsigned long long>(chunk.skipped_long_lines),
                   static_cast<unsigned long long>(chunk.skipped_bytes), chunk.last_of_source);
  }
  DS_FUZZ_CHECK(!framer.next(chunk));  // stays finished
  if (fail_at <= stream.size()) {
    // A read error: every complete line before it delivered or counted as skipped, then failed().
    DS_FUZZ_CHECK(framer.failed());
    DS_FUZZ_CHECK(!saw_last);
    const size_t nl = fail_at == 0 ? std::string::npos : stream.rfind('\n', fail_at - 1);
    const size_t complete = nl == std::string::npos ? 0 : nl + 1;
    DS_FUZZ_CHECK(pos == complete);
    DS_FUZZ_CHECK(lines == count_lines(stream, 0, complete));
  } else {
    DS_FUZZ_CHECK(!framer.failed());
    DS_FUZZ_CHECK(saw_last);
    DS_FUZZ_CHECK(pos == stream.size());
    DS_FUZZ_CHECK(lines == count_lines(stream, 0, stream.size()));
    // open_input decodes a file that starts with a gzip or zstd magic (fuzz_gzip
    // covers that path): both ways must then agree, failure included. A plain
    // stream must frame without failure.
    const bool compressed_magic = stream.starts_with("\x1f\x8b") || stream.starts_with("\x28\xb5\x2f\xfd");
    const std::string path = as_file(stream);
    const FramedFile mapped = frame_file(path, opt, true);
    DS_FUZZ_CHECK(mapped == frame_file(path, opt, false));
    if (!compressed_magic) DS_FUZZ_CHECK(!mapped.failed);
  }
  return 0;
}
