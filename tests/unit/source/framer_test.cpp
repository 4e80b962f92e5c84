// Framer tests: every input is run through every read split and many chunk
// sizes and checked against a reference line splitter, plus exact long-line
// accounting at the limit.
#include "source/framer.hpp"
#include "source_test_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

// Hands out `data` in pieces of at most `piece` bytes (or per a pattern).
class PieceSource final : public ds::ByteSource {
 public:
  PieceSource(std::string data, size_t piece) : data_(std::move(data)), piece_(piece) {}
  // Piece sizes cycle through `pattern` (an irregular split).
  PieceSource(std::string data, std::vector<size_t> pattern) : data_(std::move(data)), pattern_(pattern) {}
  // Returns -1 once `fail_at` bytes have been handed out.
  void fail_at(size_t at) { fail_at_ = at; }

  long read(char* dst, size_t n) override {
    if (pos_ >= fail_at_) {
      error_ = "fake read error";
      return -1;
    }
    size_t piece = pattern_.empty() ? piece_ : pattern_[calls_++ % pattern_.size()];
    size_t k = std::min({n, piece, data_.size() - pos_, fail_at_ - pos_});
    std::memcpy(dst, data_.data() + pos_, k);
    pos_ += k;
    return static_cast<long>(k);
  }
  const std::string& error() const override { return error_; }
  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_read() const override { return pos_; }
  uint64_t raw_size() const override { return data_.size(); }

 private:
  std::string data_;
  size_t piece_ = 1;
  std::vector<size_t> pattern_;
  size_t calls_ = 0;
  size_t pos_ = 0;
  size_t fail_at_ = SIZE_MAX;
  std::string error_;
  std::string name_ = "fake";
};

// Produces `head`, then `fill_bytes` of 'x', then `tail`, without storing it.
class GeneratedSource final : public ds::ByteSource {
 public:
  GeneratedSource(std::string head, uint64_t fill_bytes, std::string tail)
      : head_(std::move(head)), fill_(fill_bytes), tail_(std::move(tail)) {}
  long read(char* dst, size_t n) override {
    const uint64_t total = head_.size() + fill_ + tail_.size();
    size_t k = 0;
    while (k < n && pos_ < total) {
      if (pos_ < head_.size()) {
        dst[k] = head_[pos_];
      } else if (pos_ < head_.size() + fill_) {
        size_t run = static_cast<size_t>(std::min<uint64_t>(n - k, head_.size() + fill_ - pos_));
        std::memset(dst + k, 'x', run);
        k += run;
        pos_ += run;
        continue;
      } else {
        dst[k] = tail_[pos_ - head_.size() - fill_];
      }
      ++k;
      ++pos_;
    }
    return static_cast<long>(k);
  }
  const std::string& error() const override { return error_; }
  const std::string& name() const override { return name_; }
  uint64_t raw_bytes_read() const override { return pos_; }
  uint64_t raw_size() const override { return 0; }

 private:
  std::string head_;
  uint64_t fill_;
  std::string tail_;
  uint64_t pos_ = 0;
  std::string error_;
  std::string name_ = "generated";
};

// Lines (each with its '\n' if it had one), split by the reference rule.
struct Expected {
  std::vector<std::string> lines;
  uint64_t skipped = 0;
  uint64_t skipped_bytes = 0;
};

size_t content_length(const std::string& line) {
  size_t n = line.size();
  if (n > 0 && line[n - 1] == '\n') --n;
  if (n > 0 && line[n - 1] == '\r') --n;
  return n;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    size_t end = nl == std::string::npos ? s.size() : nl + 1;
    out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

Expected reference(const std::string& input, size_t max_line) {
  Expected e;
  for (auto& line : split_lines(input)) {
    if (content_length(line) <= max_line) {
      e.lines.push_back(line);
    } else {
      ++e.skipped;
      e.skipped_bytes += line.size();
    }
  }
  return e;
}

std::vector<ds::Chunk> frame_all(ds::ByteSource& src, ds::FramerOptions opt, std::string* problem) {
  ds::Framer framer(src, opt, 7);
  std::vector<ds::Chunk> chunks;
  ds::Chunk c;
  while (framer.next(c)) {
    ds::Chunk copy;
    copy.seq = c.seq;
    copy.source_index = c.source_index;
    copy.source_offset = c.source_offset;
    copy.skipped_long_lines = c.skipped_long_lines;
    copy.skipped_bytes = c.skipped_bytes;
    copy.last_of_source = c.last_of_source;
    copy.buf.reserve(c.size() + 1);
    if (c.size()) std::memcpy(copy.buf.data(), c.data(), c.size());
    copy.buf.resize(c.size());
    if (c.view) {
      // A view into a mapping: the padding is the mapping's bytes that follow.
      const auto& map = c.mapping;
      if (!map || c.view < map->data() ||
          c.view + c.view_size + ds::kChunkPadding > map->data() + map->readable())
        *problem = "a view without readable padding";
    } else {
      // The padding must follow the data in the chunk the framer filled.
      for (size_t i = 0; i < ds::kChunkPadding; ++i) {
        if (c.buf.data()[c.buf.size() + i] != 0) *problem = "padding not zero";
      }
    }
    const size_t bound = std::max(opt.chunk_bytes, opt.max_line_bytes + 2);
    if (c.buf.capacity() > bound) *problem = "buffer grew past max(chunk_bytes, max_line_bytes + 2)";
    chunks.push_back(std::move(copy));
    if (chunks.size() > 100000) {
      *problem = "runaway framer";
      break;
    }
  }
  if (framer.failed()) *problem = "framer failed: " + framer.error();
  if (framer.next(c)) *problem = "next() returned true after the end";
  return chunks;
}

// Empty string when the framing of `input` matches the reference, else what is wrong.
std::string check_framing(const std::string& input, ds::ByteSource& src, ds::FramerOptions opt) {
  std::string problem;
  std::vector<ds::Chunk> chunks = frame_all(src, opt, &problem);
  if (!problem.empty()) return problem;
  if (chunks.empty() || !chunks.back().last_of_source) return "no last_of_source chunk";
  Expected want = reference(input, opt.max_line_bytes);
  size_t longest = 0;
  for (auto& line : want.lines) longest = std::max(longest, line.size());
  Expected got;
  uint64_t expect_offset = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const ds::Chunk& c = chunks[i];
    std::string data(c.buf.data(), c.buf.size());
    if (c.seq != 0 || c.source_index != 7) return "seq/source_index wrong";
    if (c.last_of_source != (i + 1 == chunks.size())) return "last_of_source on a middle chunk";
    expect_offset += c.skipped_bytes;
    if (c.source_offset != expect_offset)
      return "offset " + std::to_string(c.source_offset) + " expected " + std::to_string(expect_offset) +
             " in chunk " + std::to_string(i);
    if (input.compare(c.source_offset, data.size(), data) != 0)
      return "data is not the input at source_offset";
    if (!data.empty() && data.back() != '\n' && !c.last_of_source) return "chunk not line aligned";
    if (data.empty() && c.skipped_long_lines == 0 && !c.last_of_source) return "empty middle chunk";
    // Reads stop at chunk_bytes; only a line that does not fit may stretch a chunk.
    if (data.size() > std::max<size_t>(opt.chunk_bytes, 1) + longest) return "chunk too large";
    expect_offset += data.size();
    got.skipped += c.skipped_long_lines;
    got.skipped_bytes += c.skipped_bytes;
    for (auto& line : split_lines(data)) got.lines.push_back(line);
  }
  if (expect_offset != input.size()) return "offsets do not reach the end of input";
  if (got.lines != want.lines) return "lines differ";
  if (got.skipped != want.skipped || got.skipped_bytes != want.skipped_bytes) {
    return "skipped " + std::to_string(got.skipped) + "/" + std::to_string(got.skipped_bytes) + " expected " +
           std::to_string(want.skipped) + "/" + std::to_string(want.skipped_bytes);
  }
  return "";
}

std::string long_line(size_t n, char ch = 'L') {
  return std::string(n, ch);
}

const std::vector<std::string>& sample_inputs() {
  static const std::vector<std::string> inputs = {
      "",
      "\n",
      "a",
      "a\n",
      "a\nb",
      "\n\n\n",
      "{\"a\":1}\n\n{\"b\":2}\n",
      "x\r\ny\r\n",
      "x\r\ny\r",
      "\r\n\r\n",
      "one\ntwo\nthree without newline",
      "0123456789\n012345678\n0123456789A\nz\n",                           // limit, limit-1, limit+1 (max 10)
      "0123456789\r\n0123456789A\r\n0123456789\r",                         // CRLF at the limit and over
      long_line(25) + "\nshort\n" + long_line(11) + "\n" + long_line(11),  // long start, middle, final
      "ok\n" + long_line(12) + "\n" + long_line(30) + "\nok2\n",           // consecutive long lines
      "a\n" + long_line(40),                                               // final long line only
      long_line(10) + "\n" + long_line(10) + "\n" + long_line(10),         // all exactly at the limit
  };
  return inputs;
}

}  // namespace

TEST_CASE("framer: every read split and chunk size reproduces the input lines", "[framer]") {
  const std::vector<size_t> chunk_sizes = {1, 2, 3, 7, 11, 12, 13, 64, 4096};
  const std::vector<size_t> max_lines = {0, 1, 10, 1u << 20};
  size_t runs = 0;
  for (const std::string& input : sample_inputs()) {
    for (size_t max_line : max_lines) {
      for (size_t chunk : chunk_sizes) {
        for (size_t piece = 1; piece <= input.size() + 1; ++piece) {
          PieceSource src(input, piece);
          std::string problem = check_framing(input, src, {chunk, max_line});
          if (!problem.empty()) {
            INFO("input=\"" << input << "\" chunk=" << chunk << " max_line=" << max_line
                            << " piece=" << piece);
            FAIL(problem);
          }
          ++runs;
        }
      }
    }
  }
  REQUIRE(runs > 10000);
}

TEST_CASE("framer: irregular read sizes over a larger input", "[framer]") {
  std::string input;
  uint32_t rng = 12345;
  auto next_rand = [&rng] { return rng = rng * 1103515245u + 12345u, (rng >> 16) & 0x7fff; };
  for (int i = 0; i < 400; ++i) {
    size_t len = next_rand() % 40;
    if (i % 17 == 0) len = 60 + next_rand() % 40;  // sometimes over the limit
    for (size_t j = 0; j < len; ++j) input.push_back(static_cast<char>('a' + next_rand() % 26));
    input += (i % 5 == 0) ? "\r\n" : "\n";
  }
  input += "final";
  std::vector<size_t> pattern;
  for (int i = 0; i < 50; ++i) pattern.push_back(1 + next_rand() % 300);
  for (size_t chunk : {1, 2, 3, 7, 64, 100, 4096, 1 << 20}) {
    for (size_t max_line : {0, 39, 40, 59, 1000}) {
      PieceSource src(input, pattern);
      INFO("chunk=" << chunk << " max_line=" << max_line);
      REQUIRE(check_framing(input, src, {chunk, max_line}) == "");
    }
  }
}

TEST_CASE("framer: exact chunks and accounting around the limit", "[framer]") {
  const ds::FramerOptions opt{4096, 10};
  struct Want {
    std::string data;
    uint64_t offset, skipped, skipped_bytes;
    bool last;
  };
  auto run = [&](const std::string& input) {
    PieceSource src(input, 4096);
    std::string problem;
    std::vector<ds::Chunk> chunks = frame_all(src, opt, &problem);
    REQUIRE(problem == "");
    std::vector<Want> got;
    for (auto& c : chunks) {
      got.push_back({std::string(c.buf.data(), c.buf.size()), c.source_offset, c.skipped_long_lines,
                     c.skipped_bytes, c.last_of_source});
    }
    return got;
  };
  auto same = [](const std::vector<Want>& got, const std::vector<Want>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("chunk " << i);
      CHECK(got[i].data == want[i].data);
      CHECK(got[i].offset == want[i].offset);
      CHECK(got[i].skipped == want[i].skipped);
      CHECK(got[i].skipped_bytes == want[i].skipped_bytes);
      CHECK(got[i].last == want[i].last);
    }
  };
  const std::string at_limit = "0123456789";  // 10 bytes: accepted
  const std::string over = "0123456789A";     // 11 bytes: skipped

  SECTION("limit - 1 and limit are kept, limit + 1 is skipped") {
    same(run("012345678\n" + at_limit + "\n"), {{"012345678\n" + at_limit + "\n", 0, 0, 0, true}});
    same(run(over + "\n"), {{"", 12, 1, 12, true}});
  }
  SECTION("'\\r' before '\\n' does not count towards the limit, other bytes do") {
    same(run(at_limit + "\r\n"), {{at_limit + "\r\n", 0, 0, 0, true}});
    same(run(over + "\r\n"), {{"", 13, 1, 13, true}});
    same(run(at_limit + "\r"), {{at_limit + "\r", 0, 0, 0, true}});
  }
  SECTION("long line at the start: counted on the first chunk") {
    same(run(long_line(25) + "\nok\n"), {{"ok\n", 26, 1, 26, true}});
  }
  SECTION("long line in the middle: chunk ends before it, next chunk carries the count") {
    same(run("a\n" + over + "\nb\n"), {{"a\n", 0, 0, 0, false}, {"b\n", 14, 1, 12, true}});
  }
  SECTION("long line at the end: a final empty chunk carries the count") {
    same(run("a\n" + over + "\n"), {{"a\n", 0, 0, 0, false}, {"", 14, 1, 12, true}});
  }
  SECTION("long final line without newline") {
    same(run("a\n" + over), {{"a\n", 0, 0, 0, false}, {"", 13, 1, 11, true}});
    same(run("a\n" + at_limit), {{"a\n" + at_limit, 0, 0, 0, true}});
    same(run(long_line(5000)), {{"", 5000, 1, 5000, true}});
  }
  SECTION("consecutive long lines add up") {
    same(run(over + "\n" + long_line(30) + "\r\nz"), {{"z", 44, 2, 44, true}});
  }
  SECTION("empty input gives one empty last chunk") {
    same(run(""), {{"", 0, 0, 0, true}});
  }
  SECTION("empty lines are kept") {
    same(run("\n\n"), {{"\n\n", 0, 0, 0, true}});
  }
}

TEST_CASE("framer: a line longer than chunk_bytes but within the limit is delivered whole", "[framer]") {
  std::string input = "s\n" + long_line(1000) + "\n";
  for (int i = 0; i < 100; ++i) input += "t\n";
  PieceSource src(input, 700);
  REQUIRE(check_framing(input, src, {64, 1u << 20}) == "");
  PieceSource src2(input, 7);
  std::string problem;
  auto chunks = frame_all(src2, {64, 1000}, &problem);
  REQUIRE(problem == "");
  std::vector<std::string> lines;
  for (auto& c : chunks) {
    for (auto& l : split_lines(std::string(c.buf.data(), c.buf.size()))) lines.push_back(l);
  }
  REQUIRE(lines.size() == 102);
  CHECK(lines[1] == long_line(1000) + "\n");
}

TEST_CASE("framer: a huge line is skipped with bounded memory", "[framer]") {
  const uint64_t huge = 40u << 20;  // 40 MiB line, never held in memory
  const size_t max_line = 1u << 20;
  const size_t chunk_bytes = 64u << 10;
  GeneratedSource src("first\n", huge, "\nlast\n");
  ds::Framer framer(src, {chunk_bytes, max_line}, 0);
  ds::Chunk c;
  std::string data;
  uint64_t skipped = 0, skipped_bytes = 0;
  size_t max_capacity = 0;
  while (framer.next(c)) {
    data.append(c.buf.data(), c.buf.size());
    skipped += c.skipped_long_lines;
    skipped_bytes += c.skipped_bytes;
    max_capacity = std::max(max_capacity, c.buf.capacity());
    if (c.skipped_long_lines) CHECK(c.source_offset == 6 + huge + 1);
  }
  REQUIRE_FALSE(framer.failed());
  CHECK(data == "first\nlast\n");
  CHECK(skipped == 1);
  CHECK(skipped_bytes == huge + 1);
  CHECK(max_capacity <= max_line + 2);
}

TEST_CASE("framer: a huge final line without newline is counted", "[framer]") {
  GeneratedSource src("first\n", 5u << 20, "");
  ds::Framer framer(src, {4096, 1000}, 0);
  ds::Chunk c;
  std::vector<std::pair<std::string, uint64_t>> got;
  while (framer.next(c)) got.emplace_back(std::string(c.buf.data(), c.buf.size()), c.skipped_long_lines);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == std::make_pair(std::string("first\n"), uint64_t{0}));
  CHECK(got[1] == std::make_pair(std::string(), uint64_t{1}));
  CHECK(c.last_of_source);
  CHECK(c.skipped_bytes == (5u << 20));
}

TEST_CASE("framer: buffers are reused between chunks", "[framer]") {
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "line " + std::to_string(i) + "\n";
  PieceSource src(input, 999);
  ds::Framer framer(src, {1024, 100}, 0);
  ds::Chunk c;
  REQUIRE(framer.next(c));
  const char* first = c.buf.data();
  size_t chunks = 1;
  while (framer.next(c)) {
    REQUIRE(c.buf.data() == first);
    ++chunks;
  }
  CHECK(chunks > 10);
}

TEST_CASE("framer: a read error delivers the complete lines, then fails", "[framer]") {
  PieceSource src("a\nb\nc-torn", 3);
  src.fail_at(7);
  ds::Framer framer(src, {4096, 100}, 0);
  ds::Chunk c;
  REQUIRE(framer.next(c));
  CHECK(std::string(c.buf.data(), c.buf.size()) == "a\nb\n");
  CHECK_FALSE(c.last_of_source);
  CHECK_FALSE(framer.next(c));
  CHECK(framer.failed());
  CHECK(framer.error() == "fake read error");
  CHECK_FALSE(framer.next(c));
}

TEST_CASE("framer: a read error before any complete line fails at once", "[framer]") {
  PieceSource src("abc", 1);
  src.fail_at(2);
  ds::Framer framer(src, {4096, 100}, 0);
  ds::Chunk c;
  CHECK_FALSE(framer.next(c));
  CHECK(framer.failed());
}

// A live pipe (`tail -F log | distillscan scan -`): the complete lines that
// have arrived are handed over at once, not after a full chunk or at EOF.
TEST_CASE("framer: a live pipe delivers its complete lines without waiting for more", "[framer][pipe]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string first = "{\"a\":1}\n{\"a\":2}\n{\"a\":";  // two lines and a partial one
  REQUIRE(::write(fds[1], first.data(), first.size()) == static_cast<ssize_t>(first.size()));
  // open_input("-") reads stdin: point fd 0 at the pipe for the test.
  const int saved = ::dup(0);
  REQUIRE(::dup2(fds[0], 0) == 0);
  ::close(fds[0]);
  auto src = ds::open_input("-");
  REQUIRE(src);
  ds::Framer framer(**src, ds::FramerOptions{}, 0);  // 4 MiB chunks
  std::promise<std::string> got;
  auto fut = got.get_future();
  ds::Chunk c;
  std::thread t([&] {
    bool ok = framer.next(c);
    got.set_value(ok ? std::string(c.buf.data(), c.buf.size()) : std::string("<end>"));
  });
  // Without the early hand-over next() blocks until the pipe closes.
  const bool early = fut.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  const std::string rest = "3}\n";
  REQUIRE(::write(fds[1], rest.data(), rest.size()) == static_cast<ssize_t>(rest.size()));
  ::close(fds[1]);
  t.join();
  CHECK(early);
  CHECK(fut.get() == "{\"a\":1}\n{\"a\":2}\n");
  std::string tail;
  while (framer.next(c)) tail.append(c.buf.data(), c.buf.size());
  CHECK(tail == "{\"a\":3}\n");
  ::dup2(saved, 0);
  ::close(saved);
}

// --- mapped files (scan's regular files): the same chunks, without copies ---
namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    const char* dir = std::getenv("TMPDIR");
    path = std::string(dir && *dir ? dir : "/tmp") + "/ds_framer_XXXXXX";
    int fd = ::mkstemp(path.data());
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

// Opens `path` mapped (or, with read_only_io, through read(2)).
std::unique_ptr<ds::ByteSource> open_path(const std::string& path, bool read_only_io) {
  if (read_only_io) ::setenv("DISTILLSCAN_NO_MMAP", "1", 1);
  auto r = ds::open_input(path);
  ::unsetenv("DISTILLSCAN_NO_MMAP");
  REQUIRE(r);
  return std::move(*r);
}

std::string chunk_text(const ds::Chunk& c) { return std::string(c.data(), c.size()); }

// Both framings of `input`, chunk for chunk; "" when identical and correct.
std::string compare_mapped(const std::string& input, ds::FramerOptions opt) {
  TempFile f(input);
  auto mapped = open_path(f.path, false);
  auto plain = open_path(f.path, true);
  if (input.empty()) {
    if (mapped->mapping()) return "an empty file was mapped";
  } else if (!mapped->mapping()) {
    return "not mapped";
  }
  if (plain->mapping()) return "mapped despite DISTILLSCAN_NO_MMAP";
  std::string problem;
  std::vector<ds::Chunk> a = frame_all(*mapped, opt, &problem);
  if (!problem.empty()) return "mapped: " + problem;
  std::vector<ds::Chunk> b = frame_all(*plain, opt, &problem);
  if (!problem.empty()) return "read: " + problem;
  if (a.size() != b.size()) return "chunk counts differ: " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (chunk_text(a[i]) != chunk_text(b[i]) || a[i].source_offset != b[i].source_offset ||
        a[i].skipped_long_lines != b[i].skipped_long_lines || a[i].skipped_bytes != b[i].skipped_bytes ||
        a[i].last_of_source != b[i].last_of_source)
      return "chunk " + std::to_string(i) + " differs";
  }
  if (mapped->raw_bytes_read() != input.size()) return "raw_bytes_read does not reach the end";
  auto again = open_path(f.path, false);
  return check_framing(input, *again, opt);
}

}  // namespace

TEST_CASE("framer: a mapped file gives the same chunks as read(2)", "[framer][mmap]") {
  size_t runs = 0;
  for (const std::string& input : sample_inputs()) {
    for (size_t max_line : {0, 1, 10, 1 << 20}) {
      for (size_t chunk : {1, 2, 3, 7, 11, 12, 13, 64, 4096}) {
        INFO("input=\"" << input << "\" chunk=" << chunk << " max_line=" << max_line);
        REQUIRE(compare_mapped(input, {chunk, max_line}) == "");
        ++runs;
      }
    }
  }
  // Sizes around page boundaries (the last chunk's padding may leave the
  // mapping: it must be copied), long lines over chunk and limit, CRLF.
  uint32_t rng = 99;
  auto next_rand = [&rng] { return rng = rng * 1103515245u + 12345u, (rng >> 16) & 0x7fff; };
  for (size_t target : {4096 - 65, 4096 - 64, 4096 - 1, 4096, 4097, 3 * 4096 - 10, 70000}) {
    std::string input;
    while (input.size() < target) {
      size_t len = next_rand() % 90;
      if (next_rand() % 23 == 0) len = 300 + next_rand() % 2000;  // over the limit below
      for (size_t j = 0; j < len && input.size() < target; ++j)
        input.push_back(static_cast<char>('a' + next_rand() % 26));
      if (input.size() < target) input += next_rand() % 4 == 0 ? "\r\n" : "\n";
    }
    input.resize(target);
    for (size_t chunk : {64, 1000, 4096, 1 << 20}) {
      for (size_t max_line : {100, 250, 5000}) {
        INFO("size=" << target << " chunk=" << chunk << " max_line=" << max_line);
        REQUIRE(compare_mapped(input, {chunk, max_line}) == "");
        ++runs;
      }
    }
  }
  CHECK(runs > 500);
}

TEST_CASE("framer: a large mapped file's tail comes in shrinking chunks, every line intact", "[framer][mmap]") {
  // 8 chunk_bytes or more: the tail is cut into chunks of a quarter of what
  // is left (not below kTailChunkBytes). Lines longer than those chunks but
  // within the limit, and over-long lines, sit in the shrinking region and
  // at the very end.
  const size_t chunk = size_t{2} << 20, max_line = size_t{1} << 20;
  uint32_t rng = 7;
  auto next_rand = [&rng] { return rng = rng * 1103515245u + 12345u, (rng >> 16) & 0x7fff; };
  std::string input;
  const size_t target = ds::kTailShrinkChunks * chunk + chunk / 3;
  // Ordinary lines; in the last 3 chunk_bytes (where the chunks shrink) a
  // long line every half chunk_bytes, within the limit and over it by turns.
  size_t next_long = target - 3 * chunk;
  while (input.size() < target) {
    size_t len = 50 + next_rand() % 3000;
    if (input.size() >= next_long) {
      len = (next_long / chunk) % 2 ? ds::kTailChunkBytes + 1000 + next_rand() : max_line + 10 + next_rand();
      next_long += chunk / 2;
    }
    input.append(len, static_cast<char>('a' + next_rand() % 26));
    input += '\n';
  }
  input.append(ds::kTailChunkBytes + 5, 'z');  // a final line without '\n', longer than the smallest chunk
  input += '\n';
  input.append(max_line + 3, 'q');  // and an over-long one after it, at the very end
  ds::FramerOptions opt{chunk, max_line};
  TempFile f(input);
  auto mapped = open_path(f.path, false);
  REQUIRE(mapped->mapping());
  REQUIRE(check_framing(input, *mapped, opt) == "");  // lines, offsets and skipped counts as the reference

  auto again = open_path(f.path, false);
  std::string problem;
  const std::vector<ds::Chunk> chunks = frame_all(*again, opt, &problem);
  REQUIRE(problem.empty());
  // The tail shrinks: several chunks before the last are well under chunk_bytes.
  size_t small = 0;
  for (size_t i = 0; i + 1 < chunks.size(); ++i)
    if (chunks[i].size() < chunk / 2) ++small;
  CHECK(small >= 3);
  // read(2) frames the same file into fewer chunks of the same bytes.
  auto plain = open_path(f.path, true);
  const std::vector<ds::Chunk> plain_chunks = frame_all(*plain, opt, &problem);
  REQUIRE(problem.empty());
  CHECK(plain_chunks.size() < chunks.size());
  std::string joined, plain_joined;
  uint64_t skipped = 0, plain_skipped = 0;
  for (const auto& c : chunks) joined += chunk_text(c), skipped += c.skipped_long_lines;
  for (const auto& c : plain_chunks) plain_joined += chunk_text(c), plain_skipped += c.skipped_long_lines;
  CHECK(joined == plain_joined);
  CHECK(skipped == plain_skipped);
  CHECK(skipped > 0);

  // Below kTailShrinkChunks chunks a mapped file keeps whole chunks.
  std::string small_input = input.substr(0, input.find('\n', (ds::kTailShrinkChunks - 1) * chunk) + 1);
  REQUIRE(compare_mapped(small_input, opt) == "");
}

TEST_CASE("framer: a mapped file that grows while framed is read to its new end", "[framer][mmap]") {
  std::string first, more;
  for (int i = 0; i < 3000; ++i) first += "{\"line\":" + std::to_string(i) + "}\n";
  first += "{\"partial";  // the writer is in the middle of a line
  more = "\":1}\n";
  for (int i = 3000; i < 4000; ++i) more += "{\"line\":" + std::to_string(i) + "}\n";
  TempFile f(first);
  auto src = open_path(f.path, false);
  REQUIRE(src->mapping());
  ds::Framer framer(*src, {4096, 1000}, 0);
  ds::Chunk c;
  REQUIRE(framer.next(c));
  std::string got = chunk_text(c);
  CHECK(c.view != nullptr);  // a middle chunk of a mapped file is not copied
  {
    std::ofstream out(f.path, std::ios::app | std::ios::binary);
    out << more;
  }
  while (framer.next(c)) got += chunk_text(c);
  CHECK_FALSE(framer.failed());
  CHECK(got == first + more);
}

TEST_CASE("framer: a mapped file truncated while framed is reported, not a crash", "[framer][mmap]") {
  const std::string input = ds::test::numbered(0, 40000);
  TempFile f(input);
  auto src = open_path(f.path, false);
  REQUIRE(src->mapping());
  auto map = src->mapping();
  ds::Framer framer(*src, {64 << 10, 1 << 20}, 0);
  ds::Chunk c;
  REQUIRE(framer.next(c));
  REQUIRE(c.view != nullptr);
  const std::string first = chunk_text(c);
  REQUIRE(::truncate(f.path.c_str(), 8192) == 0);
  // Touching pages past the new end must not kill the process (SIGBUS):
  // they read as NUL bytes from now on.
  CHECK(map->data()[map->size() - 2] == '\0');
  CHECK(map->faulted());
  size_t chunks = 1;
  while (framer.next(c)) ++chunks;
  CHECK(framer.failed());
  CHECK(framer.error().find("shrank") != std::string::npos);
  CHECK(framer.error().find(" to 8192 bytes") != std::string::npos);  // the size it has now
  CHECK(first == input.substr(0, first.size()));
  CHECK(chunks >= 1);
}

TEST_CASE("framer: a file truncated while read with read(2) is reported, not silently short", "[framer]") {
  const std::string input = ds::test::numbered(0, 200000);
  TempFile f(input);  // ~7.6 MB: more than one read
  auto src = open_path(f.path, true);
  REQUIRE_FALSE(src->mapping());
  ds::Framer framer(*src, {64 << 10, 1 << 20}, 0);
  ds::Chunk c;
  REQUIRE(framer.next(c));
  REQUIRE(::truncate(f.path.c_str(), 8192) == 0);
  uint64_t got = c.size();
  while (framer.next(c)) got += c.size();
  CHECK(got < input.size());
  CHECK(framer.failed());
  CHECK(framer.error().find("shrank") != std::string::npos);
  CHECK(framer.error().find(" to 8192 bytes") != std::string::npos);
}

TEST_CASE("framer: a shrink the pipeline reported already is not reported again", "[framer][mmap]") {
  const std::string input = ds::test::numbered(0, 40000);
  TempFile f(input);
  auto src = open_path(f.path, false);
  REQUIRE(src->mapping());
  auto map = src->mapping();
  ds::Framer framer(*src, {64 << 10, 1 << 20}, 0);
  ds::Chunk c;
  REQUIRE(framer.next(c));
  REQUIRE(::truncate(f.path.c_str(), 8192) == 0);
  CHECK(map->data()[map->size() - 2] == '\0');  // a worker meets the missing pages...
  REQUIRE(map->faulted());
  REQUIRE(map->claim_fault_report());  // ...and the pipeline's collector reports the file
  while (framer.next(c)) {
  }
  CHECK_FALSE(framer.failed());  // the reader then says nothing more
  CHECK_FALSE(map->claim_fault_report());
}
