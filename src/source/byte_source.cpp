// Plain, gzip and zstd inputs behind one ByteSource. All decoders pull raw
// bytes through RawInput (one read(2) of up to 1 MiB at a time) so the magic
// bytes peeked at open time are decoded like any other input, never re-read.
#include "source/byte_source.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#if defined(DS_HAVE_ISAL)
#include <isa-l/igzip_lib.h>
#endif

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <string>
#include <utility>

namespace ds {
namespace {

constexpr size_t kReadBytes = 1u << 20;
// Largest read(2) into a RawInput buffer: kReadBytes, or less for tests
// (set_raw_read_limit_for_tests), so decoders meet headers and trailers cut
// anywhere between two reads.
size_t g_raw_read_limit = kReadBytes;
constexpr size_t kMagicBytes = 4;  // enough for both magics

std::string errno_message(int err) {
  return std::generic_category().message(err);
}

Compression detect_compression(const unsigned char* p, size_t n) {
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return Compression::gzip;
  if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) return Compression::zstd;
  return Compression::none;
}

// The underlying descriptor plus a buffer of raw bytes not yet consumed.
class RawInput {
 public:
  RawInput(int fd, bool owned, std::string name, uint64_t size)
      : fd_(fd), owned_(owned), name_(std::move(name)), size_(size), buf_(new char[kReadBytes]) {}
  RawInput(const RawInput&) = delete;
  RawInput& operator=(const RawInput&) = delete;
  ~RawInput() {
    if (owned_) ::close(fd_);
  }

  // One read(2) of at most n bytes into dst. Returns bytes, 0 at EOF, -1 with error() set.
  long read_fd(char* dst, size_t n) {
    for (;;) {
      ssize_t r = ::read(fd_, dst, std::min(n, size_t{SSIZE_MAX}));
      if (r >= 0) {
        raw_read_ += static_cast<uint64_t>(r);
        if (r == 0) {
          eof_ = true;
          // A file we opened ends before the size it had then: truncated
          // (or replaced) while read; the rest of the original is lost.
          if (owned_ && raw_read_ < size_) {
            struct stat st {};
            const std::string now = ::fstat(fd_, &st) == 0 ? std::to_string(st.st_size) : std::string("?");
            error_ = name_ + ": the file shrank while it was read (from " + std::to_string(size_) + " to " + now +
                     " bytes: truncated or rotated?); it ended after " + std::to_string(raw_read_) + " bytes";
            return -1;
          }
        }
        return static_cast<long>(r);
      }
      if (errno == EINTR) continue;
      error_ = name_ + ": read error: " + errno_message(errno);
      return -1;
    }
  }
  // Appends one read's worth to the buffer, compacting first. Same returns as
  // read_fd. Never called with the buffer full of unconsumed bytes (a read
  // of 0 bytes would look like end of input).
  long fill() {
    if (pos_ > 0) {
      std::memmove(buf_.get(), buf_.get() + pos_, len_ - pos_);
      len_ -= pos_;
      pos_ = 0;
    }
    long r = read_fd(buf_.get() + len_, std::min(kReadBytes - len_, g_raw_read_limit));
    if (r > 0) len_ += static_cast<size_t>(r);
    return r;
  }

  // A non-regular fd (pipe, socket, tty) with no data ready right now.
  bool would_block() const {
    if (eof_) return false;
    if (regular_ < 0) {
      struct stat st {};
      regular_ = (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) ? 1 : 0;
    }
    if (regular_ == 1) return false;
    struct pollfd pfd {fd_, POLLIN, 0};
    return ::poll(&pfd, 1, 0) == 0;
  }

  const char* data() const { return buf_.get() + pos_; }
  size_t available() const { return len_ - pos_; }
  void consume(size_t n) { pos_ += n; }
  bool eof() const { return eof_; }
  // Offset in the raw file of the next unconsumed byte, for error messages.
  uint64_t position() const { return raw_read_ - available(); }

  const std::string& name() const { return name_; }
  uint64_t size() const { return size_; }
  uint64_t raw_read() const { return raw_read_; }
  std::string& error() { return error_; }

 private:
  int fd_;
  bool owned_;
  std::string name_;
  uint64_t size_;
  uint64_t raw_read_ = 0;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  bool eof_ = false;
  mutable int regular_ = -1;  // -1 unknown, 0 no, 1 regular file
  std::string error_;
};

class FileSource : public ByteSource {
 public:
  explicit FileSource(std::unique_ptr<RawInput> in) : in_(std::move(in)) {}
  const std::string& error() const override { return in_->error(); }
  const std::string& name() const override { return in_->name(); }
  uint64_t raw_bytes_read() const override { return in_->raw_read(); }
  uint64_t raw_size() const override { return in_->size(); }

 protected:
  // Bytes produced before an error are returned first; the error is reported
  // by the following call, so callers keep every byte that decoded cleanly.
  long finish_read(size_t produced) {
    if (produced > 0) return static_cast<long>(produced);
    return failed_ ? -1 : 0;
  }
  void fail(const std::string& what) {
    if (in_->error().empty()) in_->error() = in_->name() + ": " + what;
    failed_ = true;
  }

  std::unique_ptr<RawInput> in_;
  bool failed_ = false;
  bool finished_ = false;
};

class PlainSource final : public FileSource {
 public:
  using FileSource::FileSource;
  bool would_block() const override { return !failed_ && in_->available() == 0 && in_->would_block(); }
  long read(char* dst, size_t n) override {
    if (failed_) return -1;
    if (n == 0) return 0;
    if (in_->available() == 0) {
      if (in_->eof()) return 0;
      // Large requests go straight into the caller's buffer: no extra copy.
      long r = n >= kReadBytes ? in_->read_fd(dst, std::min(n, g_raw_read_limit)) : in_->fill();
      if (r < 0) failed_ = true;
      if (r <= 0 || n >= kReadBytes) return r;
    }
    size_t k = std::min(n, in_->available());
    std::memcpy(dst, in_->data(), k);
    in_->consume(k);
    return static_cast<long>(k);
  }
};

// gzip through zlib: the portable decoder (and the only one without ISA-L).
class GzipSource final : public FileSource {
 public:
  explicit GzipSource(std::unique_ptr<RawInput> in) : FileSource(std::move(in)) {
    // 15+16: gzip members only (a zlib stream after a member is an error, as
    // in IsalGzipSource).
    if (inflateInit2(&zs_, 15 + 16) != Z_OK)
      fail("cannot initialise zlib");
    else
      ready_ = true;
  }
  ~GzipSource() override {
    if (ready_) inflateEnd(&zs_);
  }
  long read(char* dst, size_t n) override {
    if (failed_) return -1;
    if (n == 0 || finished_) return 0;
    zs_.next_out = reinterpret_cast<Bytef*>(dst);
    zs_.avail_out = static_cast<uInt>(std::min(n, size_t{UINT_MAX}));
    const uInt out_size = zs_.avail_out;
    while (zs_.avail_out > 0) {
      if (in_->available() == 0 && !in_->eof() && in_->fill() < 0) {
        failed_ = true;
        break;
      }
      if (in_->available() == 0) {
        if (in_member_)
          fail("truncated gzip stream (input ends inside a member)");
        else
          finished_ = true;
        break;
      }
      zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in_->data()));
      zs_.avail_in = static_cast<uInt>(std::min(in_->available(), size_t{UINT_MAX}));
      const uInt in_size = zs_.avail_in;
      in_member_ = true;
      int rc = inflate(&zs_, Z_NO_FLUSH);
      in_->consume(in_size - zs_.avail_in);
      if (rc == Z_STREAM_END) {
        // Concatenated members (cat a.gz b.gz) are one stream: start the next.
        inflateReset(&zs_);
        in_member_ = false;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        fail("corrupt gzip data near compressed byte " + std::to_string(in_->position()) + ": " +
             (zs_.msg ? zs_.msg : "zlib error " + std::to_string(rc)));
        break;
      }
    }
    return finish_read(out_size - zs_.avail_out);
  }

 private:
  z_stream zs_{};
  bool ready_ = false;
  bool in_member_ = true;  // the magic bytes already opened the first member
};

#if defined(DS_HAVE_ISAL)
// gzip through ISA-L's igzip, with GzipSource's stream semantics
// (concatenated members, CRC32 and length checked, a truncated member or
// bytes after the last member are errors) and the same bytes for any valid
// stream, at about 2.2x zlib's inflate speed on our logs (zlib ~380 MB/s,
// less than one parse worker takes). Malformed input can differ in the
// message, and in two corners: igzip accepts an incomplete Huffman code set
// that zlib rejects (the member's CRC32 must still match), and a member
// header longer than the 1 MiB read buffer (a huge name or comment) is
// rejected here.
// Member headers are parsed here, igzip only inflates the deflate data and
// checks the trailer (ISAL_GZIP_NO_HDR_VER): igzip's own header parser
// reported a wrong header CRC when a header with FHCRC was split between
// two reads (unit test "gzip members cut at read boundaries").
class IsalGzipSource final : public FileSource {
 public:
  explicit IsalGzipSource(std::unique_ptr<RawInput> in)
      : FileSource(std::move(in)), st_(std::make_unique<inflate_state>()) {}
  long read(char* dst, size_t n) override {
    if (failed_) return -1;
    if (n == 0 || finished_) return 0;
    uint8_t* out = reinterpret_cast<uint8_t*>(dst);
    uint32_t avail_out = static_cast<uint32_t>(std::min(n, size_t{UINT32_MAX}));
    const uint32_t out_size = avail_out;
    bool stalled = false;  // the last call took no input and gave no output
    while (avail_out > 0) {
      if (!in_member_) {
        const int h = read_header();
        if (h < 0) break;
        if (h == 0) {
          finished_ = true;
          break;
        }
        isal_inflate_init(st_.get());
        st_->crc_flag = ISAL_GZIP_NO_HDR_VER;  // raw deflate, then the CRC32/ISIZE trailer checked
        in_member_ = true;
        stalled = false;
      }
      // More input when the buffer is empty, or when a call made no
      // progress (igzip 2.30 takes partial trailers into its own buffer, so
      // this is a safeguard: never spin on the same bytes).
      if (stalled && !in_->eof() && in_->available() >= kReadBytes) {
        fail("igzip made no progress on 1 MiB of input near compressed byte " + std::to_string(in_->position()));
        break;
      }
      if ((in_->available() == 0 || stalled) && !in_->eof() && in_->fill() < 0) {
        failed_ = true;
        break;
      }
      // At end of input we still call: the decoder may hold output.
      st_->next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(in_->data()));
      st_->avail_in = static_cast<uint32_t>(std::min(in_->available(), size_t{UINT32_MAX}));
      st_->next_out = out;
      st_->avail_out = avail_out;
      const uint32_t in_size = st_->avail_in;
      const int rc = isal_inflate(st_.get());
      in_->consume(in_size - st_->avail_in);
      stalled = st_->avail_in == in_size && st_->avail_out == avail_out;
      out = st_->next_out;
      avail_out = st_->avail_out;
      if (rc != ISAL_DECOMP_OK) {
        fail("corrupt gzip data near compressed byte " + std::to_string(in_->position()) + ": " + describe(rc));
        break;
      }
      if (st_->block_state == ISAL_BLOCK_FINISH) {
        in_member_ = false;  // concatenated members (cat a.gz b.gz) are one stream
      } else if (stalled && in_->eof()) {
        fail("truncated gzip stream (input ends inside a member)");
        break;
      }
    }
    return finish_read(out_size - avail_out);
  }

 private:
  // At least k unconsumed bytes in the buffer (reading more as needed)?
  // False at end of input, on a read error (then failed_), or when k is
  // more than the buffer holds (then too_long_).
  bool have(size_t k) {
    if (k > kReadBytes) {
      too_long_ = true;
      return false;
    }
    while (in_->available() < k && !in_->eof()) {
      if (in_->fill() < 0) {
        failed_ = true;
        return false;
      }
    }
    return in_->available() >= k;
  }
  // Offset just past the '\0' ending the string at `from`, or 0 (not yet in
  // the buffer: end of input, a read error, or longer than the buffer).
  size_t string_end(size_t from) {
    for (;;) {
      if (in_->available() > from) {
        const void* z = std::memchr(in_->data() + from, 0, in_->available() - from);
        if (z != nullptr) return static_cast<size_t>(static_cast<const char*>(z) - in_->data()) + 1;
      }
      if (in_->available() >= kReadBytes) {
        too_long_ = true;
        return 0;
      }
      if (in_->eof()) return 0;
      if (in_->fill() < 0) {
        failed_ = true;
        return 0;
      }
    }
  }
  // One member header (RFC 1952 section 2.3), parsed whole from the buffer
  // and consumed. 1: parsed; 0: clean end of input; -1: error (reported).
  int read_header() {
    if (!have(1)) return failed_ ? -1 : 0;
    const uint64_t at = in_->position();
    auto bad = [&](const std::string& why) {
      fail("corrupt gzip data near compressed byte " + std::to_string(at) + ": " + why);
      return -1;
    };
    auto cut = [&] {  // end of input, a read error, or a header past the buffer
      if (too_long_) return bad("member header longer than 1 MiB (name, comment or extra field)");
      if (!failed_) fail("truncated gzip stream (input ends inside a member)");
      return -1;
    };
    if (!have(10)) {
      const auto* p = reinterpret_cast<const unsigned char*>(in_->data());
      if (failed_) return -1;
      if (p[0] != 0x1f || (in_->available() > 1 && p[1] != 0x8b)) return bad("not a gzip member header");
      return cut();
    }
    const auto* p = reinterpret_cast<const unsigned char*>(in_->data());
    if (p[0] != 0x1f || p[1] != 0x8b) return bad("not a gzip member header");
    if (p[2] != 8) return bad("unsupported compression method");
    const unsigned flags = p[3];
    if (flags & 0xE0) return bad("reserved header flags set");
    size_t len = 10;
    if (flags & 4) {  // FEXTRA: 2-byte length, then the field
      if (!have(len + 2)) return cut();
      p = reinterpret_cast<const unsigned char*>(in_->data());
      len += 2 + (p[len] | (size_t{p[len + 1]} << 8));
      if (!have(len)) return cut();
    }
    for (unsigned f : {8u, 16u}) {  // FNAME, FCOMMENT: zero-terminated
      if (!(flags & f)) continue;
      len = string_end(len);
      if (len == 0) return cut();
    }
    if (flags & 2) {  // FHCRC: low 16 bits of the CRC32 of the header so far
      if (!have(len + 2)) return cut();
      p = reinterpret_cast<const unsigned char*>(in_->data());
      const uLong crc = crc32(0, p, static_cast<uInt>(len));
      if ((crc & 0xFFFFu) != (p[len] | (unsigned{p[len + 1]} << 8))) return bad("header CRC mismatch");
      len += 2;
    }
    in_->consume(len);
    return 1;
  }
  static std::string describe(int rc) {
    switch (rc) {
      case ISAL_INVALID_BLOCK: return "invalid deflate block";
      case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
      case ISAL_INVALID_LOOKBACK: return "invalid back-reference distance";
      case ISAL_INCORRECT_CHECKSUM: return "incorrect CRC32 or length in the member trailer";
      default: return "igzip error " + std::to_string(rc);
    }
  }

  std::unique_ptr<inflate_state> st_;  // ~87 KB: off the stack
  bool in_member_ = false;             // header read, deflate data or trailer not finished
  bool too_long_ = false;              // a header did not fit the read buffer
};
#endif

class ZstdSource final : public FileSource {
 public:
  explicit ZstdSource(std::unique_ptr<RawInput> in) : FileSource(std::move(in)), dctx_(ZSTD_createDCtx()) {
    if (!dctx_) fail("cannot initialise zstd");
  }
  ~ZstdSource() override { ZSTD_freeDCtx(dctx_); }
  long read(char* dst, size_t n) override {
    if (failed_) return -1;
    if (n == 0 || finished_) return 0;
    ZSTD_outBuffer out{dst, n, 0};
    while (out.pos < out.size) {
      if (in_->available() == 0 && !in_->eof() && in_->fill() < 0) {
        failed_ = true;
        break;
      }
      const bool at_end = in_->available() == 0;
      if (at_end && frame_done_) {
        finished_ = true;
        break;
      }
      // At end of input we still call once: the decoder may hold output to flush.
      ZSTD_inBuffer zin{in_->data(), in_->available(), 0};
      const size_t before = out.pos;
      size_t rc = ZSTD_decompressStream(dctx_, &out, &zin);
      in_->consume(zin.pos);
      if (ZSTD_isError(rc)) {
        fail("corrupt zstd data near compressed byte " + std::to_string(in_->position()) + ": " +
             ZSTD_getErrorName(rc));
        break;
      }
      frame_done_ = rc == 0;  // 0: a frame ended and is fully flushed
      if (at_end && !frame_done_ && out.pos == before) {
        fail("truncated zstd stream (input ends inside a frame)");
        break;
      }
    }
    return finish_read(out.pos);
  }

 private:
  ZSTD_DCtx* dctx_;
  bool frame_done_ = false;
};

}  // namespace

namespace {

// A regular plain file, mapped. read() is pread(2) from the position the
// framer has advanced to, so a file that grew while it was framed is read to
// its new end; one that shrank is reported as a read error (its bytes past
// the new end were read as NULs, see mapped_file.hpp).
class MappedSource final : public ByteSource {
 public:
  MappedSource(int fd, std::string name, std::shared_ptr<MappedFile> map)
      : fd_(fd), name_(std::move(name)), map_(std::move(map)) {}
  ~MappedSource() override { ::close(fd_); }
  long read(char* dst, size_t n) override {
    if (!error_.empty()) return -1;
    for (;;) {
      ssize_t r = ::pread(fd_, dst, std::min(n, size_t{SSIZE_MAX}), static_cast<off_t>(pos_));
      if (r > 0) {
        pos_ += static_cast<uint64_t>(r);
        return static_cast<long>(r);
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        error_ = name_ + ": read error: " + errno_message(errno);
        return -1;
      }
      struct stat st {};
      const bool have_size = ::fstat(fd_, &st) == 0;
      if (map_->faulted() || (have_size && static_cast<uint64_t>(st.st_size) < map_->size())) {
        // Reported once: the pipeline may have reported it already, when a
        // worker met the missing pages before the reader got here.
        if (!map_->claim_fault_report()) return 0;
        error_ = name_ + ": the file shrank while it was read (from " + std::to_string(map_->size()) + " to " +
                 (have_size ? std::to_string(st.st_size) : std::string("?")) +
                 " bytes: truncated or rotated?); its bytes past the new end were read as NUL bytes";
        return -1;
      }
      return 0;
    }
  }
  const std::string& error() const override { return error_; }
  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_read() const override { return pos_; }
  uint64_t raw_size() const override { return map_->size(); }
  std::shared_ptr<const MappedFile> mapping() const override { return map_; }
  void advance(uint64_t n) override { pos_ += n; }

 private:
  int fd_;
  std::string name_;
  std::shared_ptr<MappedFile> map_;
  uint64_t pos_ = 0;
  std::string error_;
};

}  // namespace

void set_raw_read_limit_for_tests(size_t n) { g_raw_read_limit = n == 0 || n > kReadBytes ? kReadBytes : n; }

// ISA-L when built with it, unless DISTILLSCAN_GZIP=zlib (the unit tests
// run every gzip case through both).
const char* gzip_decoder() {
#if defined(DS_HAVE_ISAL)
  const char* v = std::getenv("DISTILLSCAN_GZIP");
  return v != nullptr && std::strcmp(v, "zlib") == 0 ? "zlib" : "isa-l";
#else
  return "zlib";
#endif
}

Result<std::unique_ptr<ByteSource>> open_input(const std::string& path) {
  int fd = STDIN_FILENO;
  const bool is_stdin = path == "-";
  if (!is_stdin) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error("cannot open '" + path + "': " + errno_message(errno));
  }
  const std::string name = is_stdin ? "<stdin>" : path;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string msg = "cannot stat '" + name + "': " + errno_message(errno);
    if (!is_stdin) ::close(fd);
    return make_error(std::move(msg));
  }
  if (S_ISDIR(st.st_mode)) {
    if (!is_stdin) ::close(fd);
    return make_error("cannot read '" + name + "': " + errno_message(EISDIR));
  }
  const bool regular = S_ISREG(st.st_mode);
  if (regular) ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);  // a hint; failure is harmless
  if (regular && !is_stdin && st.st_size > 0 && !mmap_disabled()) {
    unsigned char magic[kMagicBytes];
    ssize_t k;
    do k = ::pread(fd, magic, sizeof magic, 0);
    while (k < 0 && errno == EINTR);
    if (k > 0 && detect_compression(magic, static_cast<size_t>(k)) == Compression::none) {
      std::string why;  // unmappable: read(2) below
      if (auto map = MappedFile::map(fd, static_cast<uint64_t>(st.st_size), why, name))
        return std::unique_ptr<ByteSource>(std::make_unique<MappedSource>(fd, name, std::move(map)));
    }
  }
  auto in = std::make_unique<RawInput>(fd, !is_stdin, name, regular ? static_cast<uint64_t>(st.st_size) : 0);

  // Pipes may deliver the magic bytes in pieces.
  while (in->available() < kMagicBytes && !in->eof()) {
    if (in->fill() < 0) return make_error(in->error());
  }
  std::unique_ptr<ByteSource> src;
  switch (detect_compression(reinterpret_cast<const unsigned char*>(in->data()), in->available())) {
    case Compression::gzip:
#if defined(DS_HAVE_ISAL)
      if (std::strcmp(gzip_decoder(), "isa-l") == 0) {
        src = std::make_unique<IsalGzipSource>(std::move(in));
        break;
      }
#endif
      src = std::make_unique<GzipSource>(std::move(in));
      break;
    case Compression::zstd:
      src = std::make_unique<ZstdSource>(std::move(in));
      break;
    case Compression::none:
      src = std::make_unique<PlainSource>(std::move(in));
      break;
  }
  if (!src->error().empty()) return make_error(src->error());
  return src;
}

}  // namespace ds
