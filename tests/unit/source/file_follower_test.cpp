// FileFollower: identity, partial lines, rotation by rename and by
// copytruncate, delete + recreate, checkpoint/restore. Polling mode and
// inotify mode; no timing assertions (next() is driven until a condition or
// a bounded number of calls).
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "source/file_follower.hpp"

namespace fs = std::filesystem;
using namespace ds;

namespace {

struct TempDir {
  fs::path p;
  TempDir() {
    char tmpl[] = "/tmp/ds-follow-XXXXXX";
    p = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(p); }
};

void append(const fs::path& f, const std::string& s) {
  std::ofstream o(f, std::ios::binary | std::ios::app);
  o << s;
}

FollowerOptions opts(const std::string& pattern, bool inotify) {
  FollowerOptions o;
  o.patterns = {pattern};
  o.poll_interval = std::chrono::milliseconds(20);
  o.idle_return = std::chrono::milliseconds(20);
  o.rotate_wait = std::chrono::milliseconds(300);
  o.use_inotify = inotify;
  return o;
}

// Everything the follower hands over within `calls` calls (stops early after `idle_stop` idles in a row).
std::string drain(FileFollower& f, int calls = 60, int idle_stop = 4) {
  std::string got;
  Chunk c;
  int idle = 0;
  for (int i = 0; i < calls && idle < idle_stop; ++i) {
    if (f.next(c) == Produce::chunk) {
      got.append(c.buf.data(), c.buf.size());
      if (c.last_of_source && (got.empty() || got.back() != '\n')) got += '\n';  // a final line
      idle = 0;
    } else {
      ++idle;
    }
  }
  return got;
}

}  // namespace

TEST_CASE("file identity: dev+inode+fingerprint of the first bytes") {
  TempDir d;
  auto f = d.p / "a.jsonl";
  append(f, "hello\n");
  int fd = ::open(f.c_str(), O_RDONLY);
  FileIdentity id;
  REQUIRE(file_identity(fd, id));
  CHECK(id.fp_len == 6);
  CHECK(fingerprint_matches(fd, id));
  ::close(fd);
  // Same bytes rewritten in place: still matches. Other bytes: does not.
  { std::ofstream o(f, std::ios::binary | std::ios::trunc); o << "jello\n"; }
  fd = ::open(f.c_str(), O_RDONLY);
  CHECK_FALSE(fingerprint_matches(fd, id));
  ::close(fd);
}

TEST_CASE("partial last line waits for its newline", "[follower]") {
  for (bool ino : {false, true}) {
    TempDir d;
    auto f = d.p / "app.jsonl";
    append(f, "{\"a\":1}\n{\"a\":2");
    FileFollower fol(opts(f.string(), ino));
    CHECK(drain(fol) == "{\"a\":1}\n");
    auto cp = fol.checkpoint();
    REQUIRE(cp.size() == 1);
    CHECK(cp[0].offset == 8);
    append(f, "}\n{\"a\":3}\n");
    CHECK(drain(fol) == "{\"a\":2}\n{\"a\":3}\n");
  }
}

TEST_CASE("rotation by rename + create: old file read to its end first, then the new one", "[follower]") {
  for (bool ino : {false, true}) {
    TempDir d;
    auto f = d.p / "app.jsonl";
    append(f, "1\n2\n");
    FileFollower fol(opts((d.p / "*.jsonl").string(), ino));
    CHECK(drain(fol) == "1\n2\n");
    append(f, "3\n4");  // 4 never gets its newline: a final line once rotated away
    fs::rename(f, d.p / "app.jsonl.1");
    append(f, "5\n");
    CHECK(drain(fol, 200, 30) == "3\n4\n5\n");
    CHECK(fol.counters().rotations == 1);
  }
}

TEST_CASE("copytruncate: truncation noticed, unread tail recovered from the copy", "[follower]") {
  TempDir d;
  auto f = d.p / "app.jsonl";
  std::string head;
  for (int i = 0; i < 20; ++i) head += "{\"line\":" + std::to_string(i) + ",\"pad\":\"xxxxxxxxxxxxxxxx\"}\n";
  append(f, head);
  FileFollower fol(opts(f.string(), false));
  CHECK(drain(fol) == head);
  append(f, "{\"line\":20}\n");  // written, not yet read ...
  fs::copy_file(f, d.p / "app.jsonl.1");  // ... logrotate copies ...
  fs::resize_file(f, 0);                  // ... and truncates
  append(f, "{\"new\":1}\n");
  CHECK(drain(fol) == "{\"line\":20}\n{\"new\":1}\n");
  CHECK(fol.counters().truncations == 1);
  CHECK(fol.counters().recovered_copies == 1);
}

TEST_CASE("truncated and regrown past the offset is still a truncation", "[follower]") {
  TempDir d;
  auto f = d.p / "app.jsonl";
  append(f, "aaaa\nbbbb\n");
  FileFollower fol(opts(f.string(), false));
  CHECK(drain(fol) == "aaaa\nbbbb\n");
  { std::ofstream o(f, std::ios::binary | std::ios::trunc); o << "cccc\ndddd\neeee\n"; }
  CHECK(drain(fol) == "cccc\ndddd\neeee\n");
}

TEST_CASE("delete + recreate", "[follower]") {
  TempDir d;
  auto f = d.p / "app.jsonl";
  append(f, "one\n");
  FileFollower fol(opts(f.string(), true));
  CHECK(drain(fol) == "one\n");
  fs::remove(f);
  append(f, "two\n");
  CHECK(drain(fol, 200, 30) == "two\n");
}

TEST_CASE("checkpoint/restore resumes at the offset; a rotated file is found under its new name", "[follower]") {
  TempDir d;
  auto f = d.p / "app.jsonl";
  append(f, "1\n2\n");
  std::vector<FilePosition> cp;
  {
    FileFollower fol(opts(f.string(), false));
    CHECK(drain(fol) == "1\n2\n");
    cp = fol.checkpoint();
  }
  append(f, "3\n");
  fs::rename(f, d.p / "app.jsonl.1");  // rotated while we were down
  append(f, "4\n");
  FileFollower fol(opts(f.string(), false));
  fol.restore(cp);
  CHECK(drain(fol, 200, 30) == "3\n4\n");
}

TEST_CASE("bounded: max_files caps the tracked files", "[follower]") {
  TempDir d;
  for (int i = 0; i < 5; ++i) append(d.p / ("f" + std::to_string(i) + ".jsonl"), "x\n");
  auto o = opts((d.p / "*.jsonl").string(), false);
  o.max_files = 3;
  FileFollower fol(o);
  CHECK(drain(fol) == "x\nx\nx\n");
  CHECK(fol.counters().files_refused >= 2);  // counted per refused discovery (each refresh)
  CHECK(fol.tracked() == 3);
}

TEST_CASE("over-long lines are skipped whole and counted", "[follower]") {
  TempDir d;
  auto f = d.p / "app.jsonl";
  append(f, "ok\n" + std::string(100, 'x') + "\nok2\n");
  auto o = opts(f.string(), false);
  o.max_line_bytes = 10;
  o.chunk_bytes = 8;
  FileFollower fol(o);
  Chunk c;
  std::string got;
  uint64_t skipped = 0;
  for (int i = 0; i < 40; ++i)
    if (fol.next(c) == Produce::chunk) {
      got.append(c.buf.data(), c.buf.size());
      skipped += c.skipped_long_lines;
    }
  CHECK(got == "ok\nok2\n");
  CHECK(skipped == 1);
}
