// Differential fuzz target for the two gzip decoders behind open_input():
// ISA-L's igzip (IsalGzipSource, our header parser) and zlib (GzipSource,
// DISTILLSCAN_GZIP=zlib). The input is the file's bytes; a first byte pair
// other than the gzip magic is replaced by it so every input is decoded as
// gzip. Both decoders must agree: both succeed with the same bytes, or both
// fail having produced a prefix of the same stream (one may stop earlier).
// The last two bytes pick the raw read size (1..64 bytes per read(2), so
// headers and trailers are cut between reads) and the size of the caller's
// reads. Built without ISA-L both runs are zlib (and trivially agree);
// fuzz/run.sh builds with ISA-L. Known, documented differences no fuzzer is
// likely to hit: igzip accepts incomplete Huffman code sets (zlib does not),
// and the ISA-L path rejects member headers longer than 1 MiB.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_common.hpp"
#include "source/byte_source.hpp"

namespace {

struct Decoded {
  std::string data;
  bool failed = false;
};

Decoded decode(const std::string& path, const char* decoder, size_t piece) {
  if (std::string(decoder) == "zlib")
    ::setenv("DISTILLSCAN_GZIP", "zlib", 1);
  else
    ::unsetenv("DISTILLSCAN_GZIP");
  auto src = ds::open_input(path);
  ::unsetenv("DISTILLSCAN_GZIP");
  DS_FUZZ_CHECK(src);
  Decoded d;
  std::string buf(piece, '\0');
  for (;;) {
    const long n = (*src)->read(buf.data(), piece);
    if (n < 0) {
      d.failed = true;
      DS_FUZZ_CHECK(!(*src)->error().empty());
      DS_FUZZ_CHECK((*src)->read(buf.data(), 1) == -1);  // the error is sticky
      break;
    }
    if (n == 0) break;
    DS_FUZZ_CHECK(static_cast<size_t>(n) <= piece);
    d.data.append(buf.data(), static_cast<size_t>(n));
    DS_FUZZ_CHECK(d.data.size() <= (64u << 20));  // deflate expands at most ~1032:1
  }
  return d;
}

bool is_prefix(const std::string& a, const std::string& b) { return a.size() <= b.size() && b.compare(0, a.size(), a) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  bytes[0] = '\x1f';
  bytes[1] = '\x8b';
  const int fd = ::memfd_create("fuzz_gzip", 0);
  DS_FUZZ_CHECK(fd >= 0);
  DS_FUZZ_CHECK(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const size_t piece = 1 + (static_cast<size_t>(data[size - 1]) * 37) % 5000;
  ds::set_raw_read_limit_for_tests(1 + data[size - 2] % 64);
  const Decoded isal = decode(path, "isa-l", piece);
  const Decoded zlib = decode(path, "zlib", piece);
  ::close(fd);
  ds::set_raw_read_limit_for_tests(0);
  if (std::getenv("DS_FUZZ_VERBOSE"))
    std::fprintf(stderr, "isa-l: %zu bytes%s; zlib: %zu bytes%s\n", isal.data.size(), isal.failed ? ", failed" : "",
                 zlib.data.size(), zlib.failed ? ", failed" : "");
  DS_FUZZ_CHECK(isal.failed == zlib.failed);
  if (!isal.failed) DS_FUZZ_CHECK(isal.data == zlib.data);
  else DS_FUZZ_CHECK(is_prefix(isal.data, zlib.data) || is_prefix(zlib.data, isal.data));
  return 0;
}
