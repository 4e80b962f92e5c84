// ByteSource tests on real files in a temporary directory: plain, gzip and
// zstd (written here with zlib/libzstd), multi-member/multi-frame, truncation
// at every byte, corruption, and the open-time errors.
#include "source/byte_source.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "source/framer.hpp"

namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ds_source_test.XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Selects the gzip decoder for one run of a test (DISTILLSCAN_GZIP), then
// restores the default. Tests that read gzip take both:
//   const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
class GzipDecoder {
 public:
  explicit GzipDecoder(const std::string& which) {
    if (which == "zlib")
      setenv("DISTILLSCAN_GZIP", "zlib", 1);
    else
      unsetenv("DISTILLSCAN_GZIP");
#if defined(DS_EXPECT_ISAL)
    REQUIRE(std::string(ds::gzip_decoder()) == which);
#else
    REQUIRE(std::string(ds::gzip_decoder()) == "zlib");  // built without ISA-L: zlib either way
#endif
  }
  ~GzipDecoder() { unsetenv("DISTILLSCAN_GZIP"); }
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;
};

// A gzip member; with `named`, its header also carries a file name, a
// comment, an extra field and a header CRC (as gzip(1) and other tools write).
std::string gzip(const std::string& in, bool named = false, int level = 6) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  gz_header head{};
  static unsigned char extra[] = "XYab";  // one subfield: id "XY", ...
  static unsigned char name[] = "access.log", comment[] = "rotated 2026-12-07";
  if (named) {
    head.extra = extra;
    head.extra_len = 4;
    head.name = name;
    head.comment = comment;
    head.hcrc = 1;
    head.time = 1733529600;
    REQUIRE(deflateSetHeader(&zs, &head) == Z_OK);
  }
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string zstd(const std::string& in, bool checksum) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
  ZSTD_freeCCtx(cctx);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// Pseudo-random bytes: incompressible, so compressed files exceed the 1 MiB read buffer.
std::string noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (auto& ch : s) {
    seed = seed * 1664525u + 1013904223u;
    ch = static_cast<char>(seed >> 24);
  }
  return s;
}

std::string text(size_t lines) {
  std::string s;
  for (size_t i = 0; i < lines; ++i)
    s += "{\"account\":\"acct-" + std::to_string(i % 97) + "\",\"n\":" + std::to_string(i) + "}\n";
  return s;
}

struct ReadAll {
  std::string data;
  bool failed = false;
};

ReadAll read_all(ds::ByteSource& src, size_t piece) {
  ReadAll r;
  std::vector<char> buf(piece);
  for (;;) {
    long n = src.read(buf.data(), piece);
    if (n < 0) {
      r.failed = true;
      return r;
    }
    if (n == 0) return r;
    REQUIRE(static_cast<size_t>(n) <= piece);
    r.data.append(buf.data(), static_cast<size_t>(n));
  }
}

std::unique_ptr<ds::ByteSource> open_ok(const std::string& path) {
  auto r = ds::open_input(path);
  INFO(path << ": " << (r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

void check_round_trip(const std::string& path, const std::string& want, size_t file_size) {
  for (size_t piece : {size_t{1} << 20, size_t{4} << 20, size_t{65536}, size_t{4096}, size_t{7}}) {
    if (piece < 4096 && want.size() > (1u << 20)) continue;  // tiny reads of big files are only slow
    INFO("piece=" << piece);
    auto src = open_ok(path);
    CHECK(src->name() == path);
    CHECK(src->raw_size() == file_size);
    ReadAll r = read_all(*src, piece);
    CHECK_FALSE(r.failed);
    CHECK(src->error().empty());
    CHECK(r.data.size() == want.size());
    CHECK(r.data == want);
    CHECK(src->raw_bytes_read() == file_size);
    // End of input is sticky.
    char c;
    CHECK(src->read(&c, 1) == 0);
  }
}

}  // namespace

TEST_CASE("byte source: plain files pass through, whatever their first bytes", "[byte_source]") {
  TempDir dir;
  const std::vector<std::string> contents = {
      text(100),
      std::string("\x1f", 1),
      std::string("\x1f\x00rest\n", 7),         // gzip's first byte only
      std::string("\x28\xb5\x2f", 3),           // a zstd magic prefix
      std::string("\x28\xb5\x2f\xfe more", 9),  // wrong last magic byte
      std::string("\x8b\x1f\n", 3),             // gzip magic reversed
      noise(3u << 20, 1),                       // several read buffers
  };
  for (size_t i = 0; i < contents.size(); ++i) {
    std::string path = dir.write("plain" + std::to_string(i), contents[i]);
    check_round_trip(path, contents[i], contents[i].size());
  }
}

TEST_CASE("byte source: empty file", "[byte_source]") {
  TempDir dir;
  auto src = open_ok(dir.write("empty.log", ""));
  char buf[16];
  CHECK(src->read(buf, sizeof buf) == 0);
  CHECK(src->raw_size() == 0);
  CHECK(src->raw_bytes_read() == 0);
  CHECK(src->error().empty());
}

TEST_CASE("byte source: detection is by content, not by extension", "[byte_source]") {
  const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
  TempDir dir;
  const std::string want = text(50);
  std::string gz = gzip(want);
  check_round_trip(dir.write("looks_plain.log", gz), want, gz.size());
  check_round_trip(dir.write("looks_gzip.gz", want), want, want.size());
  std::string zst = zstd(want, true);
  check_round_trip(dir.write("looks_gzip_too.gz", zst), want, zst.size());
}

TEST_CASE("byte source: open errors name the file and the cause", "[byte_source]") {
  TempDir dir;
  SECTION("missing file") {
    std::string path = dir.path("no-such-file.log");
    auto r = ds::open_input(path);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(path) && Catch::Contains("No such file or directory"));
  }
  SECTION("directory") {
    std::string path = dir.path("");
    auto r = ds::open_input(path);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(path) && Catch::Contains("directory"));
  }
  SECTION("permission denied") {
    std::string path = dir.write("secret.log", "x\n");
    REQUIRE(chmod(path.c_str(), 0) == 0);
    if (geteuid() == 0) {
      WARN("running as root: permissions are not enforced, skipping");
      return;
    }
    auto r = ds::open_input(path);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(path) && Catch::Contains("Permission denied"));
  }
}

TEST_CASE("byte source: gzip, single and multi-member", "[byte_source]") {
  const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
  TempDir dir;
  SECTION("single member") {
    const std::string want = text(2000);
    std::string gz = gzip(want);
    check_round_trip(dir.write("a.gz", gz), want, gz.size());
  }
  SECTION("members concatenated, including an empty one") {
    const std::string a = text(300), b = "", c = "last line without newline";
    std::string gz = gzip(a) + gzip(b) + gzip(c);
    check_round_trip(dir.write("multi.gz", gz), a + b + c, gz.size());
  }
  SECTION("headers with name, comment, extra field and header CRC") {
    const std::string a = text(500), b = text(20);
    std::string gz = gzip(a, true) + gzip(b, true);
    check_round_trip(dir.write("named.gz", gz), a + b, gz.size());
  }
  SECTION("large members spanning read-buffer boundaries") {
    const std::string a = noise(1500000, 2), b = noise(700000, 3), c = noise(1200000, 4);
    std::string gz = gzip(a) + gzip(b) + gzip(c);
    REQUIRE(gz.size() > (3u << 20));
    check_round_trip(dir.write("big.gz", gz), a + b + c, gz.size());
  }
}

// The first raw read is 1 MiB (RawInput): a member whose end lands near that
// boundary has its trailer, or the next member's 48-byte header, cut between
// two reads (igzip's own header parser got the header CRC wrong there).
TEST_CASE("byte source: gzip members cut at read boundaries", "[byte_source]") {
  const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
  TempDir dir;
  constexpr size_t kFirstRead = size_t{1} << 20;
  const std::string second = text(50);
  const std::string second_gz = gzip(second, true);  // a long header: name, comment, extra, CRC
  REQUIRE(second_gz.size() > 60);
  SECTION("at the first 1 MiB read") {
    // Stored (level 0) members grow by one byte per payload byte, but for the
    // occasional stored-block header: a few corrections hit most end offsets.
    const std::string pool = noise(kFirstRead + 4096, 9);
    int covered = 0;
    for (long d = -60; d <= 30; ++d) {
      const size_t target = static_cast<size_t>(static_cast<long>(kFirstRead) + d);
      size_t n = target - 200;
      std::string first_gz;
      for (int step = 0; step < 6; ++step) {
        first_gz = gzip(pool.substr(0, n), false, 0);
        if (first_gz.size() == target) break;
        n = n + target - first_gz.size();  // unsigned wrap-around cancels out
      }
      if (first_gz.size() != target) continue;  // a block header jumped over it
      ++covered;
      INFO("decoder " << ds::gzip_decoder() << ": first member ends at byte " << target << " (" << d
                      << " from the first read's end)");
      const std::string path = dir.write("cut.gz", first_gz + second_gz);
      auto src = open_ok(path);
      ReadAll r = read_all(*src, size_t{1} << 20);
      CHECK_FALSE(r.failed);
      CHECK(src->error() == "");
      CHECK(r.data == pool.substr(0, n) + second);
    }
    CHECK(covered >= 80);  // most offsets in [-60, 30] were hit
  }
  SECTION("reads of 1 to 13 bytes") {
    const std::string a = text(40), b = "tail without newline";
    const std::string gz = gzip(a, true) + gzip(b) + second_gz;
    const std::string path = dir.write("small.gz", gz);
    for (size_t limit = 1; limit <= 13; ++limit) {
      INFO("decoder " << ds::gzip_decoder() << ", reads of at most " << limit << " bytes");
      ds::set_raw_read_limit_for_tests(limit);
      auto src = open_ok(path);
      ReadAll r = read_all(*src, 4096);
      ds::set_raw_read_limit_for_tests(0);
      CHECK_FALSE(r.failed);
      CHECK(r.data == a + b + second);
      CHECK(src->raw_bytes_read() == gz.size());
    }
  }
}

// A member header longer than the 1 MiB read buffer: zlib reads through
// it, the ISA-L path rejects it with a message (documented difference).
TEST_CASE("byte source: gzip header longer than the read buffer", "[byte_source]") {
  const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
  TempDir dir;
  std::string gz = gzip("payload\n");
  gz[3] = static_cast<char>(gz[3] | 8);  // FNAME
  gz.insert(10, std::string((size_t{1} << 20) + 100, 'n') + std::string(1, '\0'));
  const std::string path = dir.write("longname.gz", gz);
  auto src = open_ok(path);
  ReadAll r = read_all(*src, 4096);
  if (std::string(ds::gzip_decoder()) == "zlib") {
    CHECK_FALSE(r.failed);
    CHECK(r.data == "payload\n");
  } else {
    CHECK(r.failed);
    CHECK_THAT(src->error(), Catch::Contains(path) && Catch::Contains("longer than 1 MiB"));
  }
}

TEST_CASE("byte source: zstd, single and multi-frame", "[byte_source]") {
  TempDir dir;
  SECTION("single frame") {
    const std::string want = text(2000);
    std::string zst = zstd(want, false);
    check_round_trip(dir.write("a.zst", zst), want, zst.size());
  }
  SECTION("frames concatenated, with and without checksums, one empty") {
    const std::string a = text(300), b = "", c = "tail";
    std::string zst = zstd(a, true) + zstd(b, false) + zstd(c, false);
    check_round_trip(dir.write("multi.zst", zst), a + b + c, zst.size());
  }
  SECTION("large frames spanning read-buffer boundaries") {
    const std::string a = noise(1500000, 5), b = noise(2500000, 6);
    std::string zst = zstd(a, true) + zstd(b, true);
    check_round_trip(dir.write("big.zst", zst), a + b, zst.size());
  }
}

TEST_CASE("byte source: truncated gzip and zstd are errors at every cut", "[byte_source]") {
  const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
  TempDir dir;
  const std::string want = text(40);
  struct Case {
    const char* name;
    std::string bytes;
    size_t min_keep;  // keep the magic so the format is still detected
  };
  const std::vector<Case> cases = {
      {"t.gz", gzip(want), 2},           {"named.gz", gzip(want, true), 2},
      {"t.zst", zstd(want, true), 4},    {"nock.zst", zstd(want, false), 4}};
  for (size_t limit : {size_t{0}, size_t{3}})  // 0: the usual 1 MiB reads; 3: every header and trailer split
  for (const Case& c : cases) {
    for (size_t keep = c.min_keep; keep < c.bytes.size(); ++keep) {
      std::string path = dir.write(c.name, c.bytes.substr(0, keep));
      ds::set_raw_read_limit_for_tests(limit);
      auto src = open_ok(path);
      ReadAll r = read_all(*src, 4096);
      ds::set_raw_read_limit_for_tests(0);
      INFO(c.name << " cut at " << keep << " of " << c.bytes.size() << ", raw reads of at most " << limit);
      REQUIRE(r.failed);
      CHECK_THAT(src->error(), Catch::Contains(path) && Catch::Contains("truncated"));
      CHECK(want.compare(0, r.data.size(), r.data) == 0);  // what came out was right
      char ch;
      CHECK(src->read(&ch, 1) == -1);  // the error is sticky
    }
  }
}

TEST_CASE("byte source: truncated member after a complete one", "[byte_source]") {
  const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
  TempDir dir;
  std::string first = gzip("one\n"), second = gzip("two\n");
  std::string path = dir.write("part.gz", first + second.substr(0, second.size() - 3));
  auto src = open_ok(path);
  ReadAll r = read_all(*src, 4096);
  CHECK(r.failed);
  CHECK(r.data.rfind("one\n", 0) == 0);
  CHECK_THAT(src->error(), Catch::Contains("truncated"));
}

TEST_CASE("byte source: corrupt compressed data is an error naming the file", "[byte_source]") {
  const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
  TempDir dir;
  const std::string want = text(40);
  SECTION("gzip CRC mismatch") {
    std::string gz = gzip(want);
    gz[gz.size() - 6] ^= 0x55;  // inside the CRC32 of the trailer
    std::string path = dir.write("crc.gz", gz);
    auto src = open_ok(path);
    CHECK(read_all(*src, 4096).failed);
    CHECK_THAT(src->error(), Catch::Contains(path) && Catch::Contains("corrupt gzip"));
  }
  SECTION("gzip length (ISIZE) mismatch") {
    std::string gz = gzip(want);
    gz[gz.size() - 2] ^= 0x01;  // inside the uncompressed length of the trailer
    std::string path = dir.write("isize.gz", gz);
    auto src = open_ok(path);
    CHECK(read_all(*src, 4096).failed);
    CHECK_THAT(src->error(), Catch::Contains(path) && Catch::Contains("corrupt gzip"));
  }
  SECTION("gzip header CRC mismatch") {
    std::string gz = gzip(want, true);
    const size_t hcrc = gz.find("rotated 2026-12-07") + sizeof("rotated 2026-12-07");  // after the comment's NUL
    gz[hcrc] ^= 0x10;
    std::string path = dir.write("hcrc.gz", gz);
    auto src = open_ok(path);
    CHECK(read_all(*src, 4096).failed);
    CHECK_THAT(src->error(), Catch::Contains(path) && Catch::Contains("corrupt gzip"));
  }
  SECTION("gzip followed by garbage") {
    std::string path = dir.write("tail.gz", gzip(want) + "garbage");
    auto src = open_ok(path);
    ReadAll r = read_all(*src, 4096);
    CHECK(r.failed);
    CHECK(r.data == want);
    CHECK_THAT(src->error(), Catch::Contains(path));
  }
  SECTION("zstd checksum mismatch") {
    std::string zst = zstd(want, true);
    zst[zst.size() - 1] ^= 0x55;  // the content checksum is the last 4 bytes
    std::string path = dir.write("ck.zst", zst);
    auto src = open_ok(path);
    CHECK(read_all(*src, 4096).failed);
    CHECK_THAT(src->error(), Catch::Contains(path) && Catch::Contains("corrupt zstd"));
  }
  SECTION("zstd followed by garbage") {
    std::string path = dir.write("tail.zst", zstd(want, false) + "garbage!");
    auto src = open_ok(path);
    ReadAll r = read_all(*src, 4096);
    CHECK(r.failed);
    CHECK(r.data == want);
    CHECK_THAT(src->error(), Catch::Contains(path));
  }
}

TEST_CASE("byte source + framer: compressed files frame into the original lines", "[byte_source][framer]") {
  const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
  TempDir dir;
  const std::string want = text(5000) + "final line";
  for (const std::string& bytes : {gzip(want.substr(0, 1000)) + gzip(want.substr(1000)),
                                   zstd(want.substr(0, 77777), true) + zstd(want.substr(77777), false)}) {
    std::string path = dir.write("in", bytes);
    auto src = open_ok(path);
    ds::Framer framer(*src, {4096, 1 << 20}, 3);
    ds::Chunk c;
    std::string got;
    while (framer.next(c)) {
      CHECK(c.source_offset == got.size());
      CHECK(c.source_index == 3);
      got.append(c.buf.data(), c.buf.size());
    }
    CHECK_FALSE(framer.failed());
    CHECK(got == want);
    CHECK(src->raw_bytes_read() == bytes.size());
  }
}

TEST_CASE("byte source + framer: a truncated file fails after its complete lines", "[byte_source][framer]") {
  const GzipDecoder dec(GENERATE(as<std::string>{}, "isa-l", "zlib"));
  TempDir dir;
  const std::string want = text(3000);
  std::string gz = gzip(want);
  std::string path = dir.write("cut.gz", gz.substr(0, gz.size() / 2));
  auto src = open_ok(path);
  ds::Framer framer(*src, {4096, 1 << 20}, 0);
  ds::Chunk c;
  std::string got;
  while (framer.next(c)) got.append(c.buf.data(), c.buf.size());
  CHECK(framer.failed());
  CHECK_THAT(framer.error(), Catch::Contains(path) && Catch::Contains("truncated"));
  CHECK(!got.empty());
  CHECK(got.back() == '\n');
  CHECK(want.compare(0, got.size(), got) == 0);
}
