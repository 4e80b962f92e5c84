// JSON writing of alert lines: the fast number, time and escape paths give
// the same bytes as the reference formatting (std::to_chars, snprintf,
// byte-by-byte escaping).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <csignal>
#include <random>
#include <sys/resource.h>

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "core/json_write.hpp"
#include "detect/alert.hpp"
#include "sink/alert_sink.hpp"

using namespace ds;

// fdatasync(2) as the sink library sees it in this test binary: this
// definition takes the place of libc's, counts the calls made on one file
// descriptor and can fail them with EIO (a writeback error) on request.
// Every other call goes to the kernel unchanged.
namespace fdatasync_probe {
std::atomic<int> watch_fd{-1};
std::atomic<int> calls{0};
std::atomic<bool> fail{false};
}  // namespace fdatasync_probe

extern "C" int fdatasync(int fd) {
  if (fd == fdatasync_probe::watch_fd.load()) {
    ++fdatasync_probe::calls;
    if (fdatasync_probe::fail.load()) {
      errno = EIO;
      return -1;
    }
  }
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}

namespace {

std::string num_fast(double v) {
  std::string s;
  json_number_append(s, v);
  return s;
}
std::string num_slow(double v) {
  std::string s;
  json_number_append_slow(s, v);
  return s;
}

std::string escape_ref(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

std::string read_all(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f);
  std::string s;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
  std::fclose(f);
  return s;
}

}  // namespace

TEST_CASE("json_number_append matches the to_chars formatting", "[sink][json]") {
  for (double v : {0.0, -0.0, 1.0, -1.0, 0.5, 0.00005, -0.00005, 0.00004999, 1e-300, 123.45675, 1.03125, -1.03125,
                   20.0, 1000.0, 0.3, 0.9996, 2269.6, 99999999999.99995, 1e11, 1e14, 1e15, 1e16, 1e300, -1e300})
    CHECK(num_fast(v) == num_slow(v));
  CHECK(num_fast(NAN) == "null");
  CHECK(num_fast(INFINITY) == "null");
  CHECK(num_fast(-0.00001) == "0");
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, 8);
    if (v == v && v <= 1e300 && v >= -1e300) REQUIRE(num_fast(v) == num_slow(v));
    const double e = std::pow(10.0, std::uniform_real_distribution<double>(-8, 16)(rng));
    REQUIRE(num_fast(e) == num_slow(e));
    REQUIRE(num_fast(-e) == num_slow(-e));
    const int64_t k = static_cast<int64_t>(rng() % 100000000000ull) - 50000000000ll;
    for (double t : {k / 10000.0, (k + 0.5) / 10000.0}) {  // on and halfway between 4-decimal values
      REQUIRE(num_fast(t) == num_slow(t));
      REQUIRE(num_fast(std::nextafter(t, 1e300)) == num_slow(std::nextafter(t, 1e300)));
      REQUIRE(num_fast(std::nextafter(t, -1e300)) == num_slow(std::nextafter(t, -1e300)));
    }
    const double tie = static_cast<double>(rng() % 1000000) / 32.0;  // exact binary ties at the 5th decimal
    REQUIRE(num_fast(tie) == num_slow(tie));
  }
}

TEST_CASE("json_escape_append escapes exactly the JSON specials", "[sink][json]") {
  std::mt19937_64 rng(11);
  const char alphabet[] = {'a', 'Z', '0', ' ', '"', '\\', '\n', '\r', '\t', '\b', '\f', '\x01', '\x1f', '\x7f',
                           '\x80', '\xc3', '\xa9', '\xff', '/', '~', '!', '#'};
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, 'x');
    for (auto& c : s) c = rng() % 3 ? static_cast<char>('a' + rng() % 26) : alphabet[rng() % sizeof alphabet];
    std::string out;
    json_escape_append(out, s);
    REQUIRE(out == escape_ref(s));
  }
  for (int c = 0; c < 256; ++c) {
    std::string s = "0123456789abcdef";
    s[static_cast<size_t>(c % 16)] = static_cast<char>(c);
    std::string out;
    json_escape_append(out, s);
    REQUIRE(out == escape_ref(s));
  }
}

TEST_CASE("format_time_utc", "[sink][json]") {
  CHECK(format_time_utc(0) == "1970-01-01T00:00:00Z");
  CHECK(format_time_utc(-1) == "1969-12-31T23:59:59Z");
  CHECK(format_time_utc(1795774529000) == "2026-11-27T10:15:29Z");
  CHECK(format_time_utc(253402300799999) == "9999-12-31T23:59:59Z");
  CHECK(format_time_utc(253402300800000) == "10000-01-01T00:00:00Z");
  CHECK(format_time_utc(-62167219200000) == "0000-01-01T00:00:00Z");
  CHECK(format_time_utc(-62167219200001) == "-001-12-31T23:59:59Z");
  Alert a;
  a.id = "0123456789abcdef";
  a.time_ms = 1795774529000;
  a.account = "acct \"x\"";
  std::string line = "prefix";
  alert_to_json_append(line, a);
  CHECK(line == "prefix" + alert_to_json(a));
  CHECK(alert_to_json(a).find("\"time\":\"2026-11-27T10:15:29Z\"") != std::string::npos);
}

namespace {

// An empty file under /tmp, removed (with its .partial) at the end of the test.
struct TempFile {
  std::string path;
  TempFile() {
    char tmpl[] = "/tmp/ds-jsonl-XXXXXX";
    const int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    close(fd);
    path = tmpl;
  }
  ~TempFile() {
    std::remove(path.c_str());
    std::remove((path + ".partial").c_str());
  }
};

}  // namespace

TEST_CASE("JsonlAlertSink flushes each alert, or once per batch", "[sink][json]") {
  const TempFile tmp;
  const std::string& path = tmp.path;
  auto size = [&] {
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    return static_cast<size_t>(st.st_size);
  };
  Alert a;
  a.id = "0123456789abcdef";
  a.account = "acct-1";
  const size_t line = alert_to_json(a).size() + 1;
  {
    auto sink = JsonlAlertSink::open(path, /*append=*/false);
    REQUIRE(sink);
    (*sink)->write(a);
    CHECK(size() == line);  // visible at once outside a batch
    (*sink)->begin_batch();
    (*sink)->write(a);
    (*sink)->write(a);
    CHECK(size() == line);  // held until the batch ends
    (*sink)->end_batch();
    CHECK(size() == 3 * line);
    (*sink)->write(a);
    CHECK(size() == 4 * line);
    CHECK((*sink)->flush());
  }
}

TEST_CASE("JsonlAlertSink in append mode cuts a partial last line left by an unclean stop", "[sink][json]") {
  const TempFile tmp;
  const std::string& path = tmp.path;
  auto put = [&](const std::string& content) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    REQUIRE(std::fwrite(content.data(), 1, content.size(), f) == content.size());
    std::fclose(f);
  };
  auto get = [&] { return read_all(path); };
  Alert a;
  a.id = "0123456789abcdef";
  a.account = "acct-1";
  const std::string line = alert_to_json(a) + "\n";
  auto append_one = [&] {
    auto sink = JsonlAlertSink::open(path, /*append=*/true);
    if (!sink) return false;
    (*sink)->write(a);
    return static_cast<bool>((*sink)->flush());
  };

  SECTION("a fragment after whole lines is cut, whole lines are kept") {
    put(line + line.substr(0, 37));
    REQUIRE(append_one());
    CHECK(get() == line + line);
  }
  SECTION("a file that is only a fragment") {
    put(line.substr(0, line.size() - 1));  // all but the newline
    REQUIRE(append_one());
    CHECK(get() == line);
  }
  SECTION("a file ending in a newline is appended to as it is") {
    put(line + "{\"not\":\"an alert but a whole line\"}\n");
    REQUIRE(append_one());
    CHECK(get() == line + "{\"not\":\"an alert but a whole line\"}\n" + line);
  }
  SECTION("a tail that is not the start of an alert line is not cut: open fails") {
    put(line + "some other file's text");
    CHECK_FALSE(append_one());
    CHECK(get() == line + "some other file's text");
  }
  SECTION("a fragment longer than any alert line is not cut") {
    const std::string big = "{" + std::string(size_t{1} << 20, 'x');
    put(line + big);
    CHECK_FALSE(append_one());
    CHECK(get().size() == line.size() + big.size());
  }
  SECTION("a fragment that fills the whole read window") {
    const std::string big = "{" + std::string((size_t{1} << 20) - 1, 'x');  // exactly the limit
    put(line + big);
    REQUIRE(append_one());
    CHECK(get() == line + line);
  }
  SECTION("the fragment is kept in PATH.partial") {
    std::remove((path + ".partial").c_str());
    put(line + line.substr(0, 37));
    REQUIRE(append_one());
    std::FILE* f = std::fopen((path + ".partial").c_str(), "rb");
    REQUIRE(f);
    char buf[64] = {};
    const size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    CHECK(std::string(buf, n) == line.substr(0, 37) + "\n");
    std::remove((path + ".partial").c_str());
  }
  SECTION("NUL bytes after the last line (a power loss) are cut") {
    put(line + std::string(100, '\0'));
    REQUIRE(append_one());
    CHECK(get() == line + line);
  }
  SECTION("a second writer in append mode is refused while the first holds the file") {
    put(line);
    auto first = JsonlAlertSink::open(path, /*append=*/true);
    REQUIRE(first);
    auto second = JsonlAlertSink::open(path, /*append=*/true);
    REQUIRE_FALSE(second);
    CHECK(second.error().message.find("another process appends alerts") != std::string::npos);
    first->reset();
    CHECK(append_one());  // released with the first
  }
  SECTION("a write-only file is appended to (the check reads through its own descriptor)") {
    put(line + line.substr(0, 5));
    REQUIRE(::chmod(path.c_str(), 0200) == 0);
    const bool root = ::geteuid() == 0;  // root reads it anyway
    const bool ok = append_one();
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    if (root) {
      CHECK(ok);
      CHECK(get() == line + line);
    } else {
      CHECK_FALSE(ok);  // a fragment it cannot read is an error, not appended to blindly
    }
  }
  SECTION("truncating mode is unaffected") {
    put(line + line.substr(0, 10));
    auto sink = JsonlAlertSink::open(path, /*append=*/false);
    REQUIRE(sink);
    (*sink)->write(a);
    REQUIRE((*sink)->flush());
    CHECK(get() == line);
  }
}

TEST_CASE("JsonlAlertSink holds what /dev/full refuses: every later flush and sync fails", "[sink][json]") {
  Alert a;
  a.id = "0123456789abcdef";
  auto sink = JsonlAlertSink::open("/dev/full", /*append=*/true);  // not a regular file: no lock, no cut
  REQUIRE(sink);
  CHECK((*sink)->flush());
  CHECK((*sink)->sync());  // nothing written yet; fdatasync on a device: EINVAL, ignored
  (*sink)->write(a);
  auto f = (*sink)->flush();
  REQUIRE_FALSE(f);
  CHECK(f.error().message.find("No space left on device") != std::string::npos);
  CHECK((*sink)->flush_state() == AlertsOut::held);
  auto again = (*sink)->sync();  // still held, still failing
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find("No space left on device") != std::string::npos);
}

namespace {

// The alert line as written before the raw line writer (reference).
std::string alert_json_ref(const Alert& a) {
  auto num = [](std::string& o, double v) {
    if (!(v == v) || v > 1e300 || v < -1e300) {
      o += "null";
      return;
    }
    json_number_append_slow(o, v);
  };
  std::string o = "{\"id\":" + escape_ref(a.id) + ",\"time\":" + escape_ref(format_time_utc(a.time_ms)) +
                  ",\"account\":" + escape_ref(a.account) + ",\"severity\":";
  o += a.critical ? "\"critical\"" : "\"warning\"";
  o += ",\"score\":";
  num(o, a.score);
  o += ",\"reasons\":[";
  for (size_t i = 0; i < a.reasons.size(); ++i) {
    if (i) o += ',';
    o += "{\"detector\":" + escape_ref(a.reasons[i].detector) + ",\"value\":";
    num(o, a.reasons[i].value);
    o += ",\"threshold\":";
    num(o, a.reasons[i].threshold);
    o += '}';
  }
  o += ']';
  if (a.has_cluster) {
    o += ",\"cluster\":{\"id\":" + escape_ref(a.cluster.id) + ",\"size\":" + std::to_string(a.cluster.size) +
         ",\"members\":[";
    for (size_t i = 0; i < a.cluster.members.size(); ++i) o += (i ? "," : "") + escape_ref(a.cluster.members[i]);
    o += "]}";
  }
  o += ",\"evidence\":{\"requests\":" + std::to_string(a.requests) + ",\"sample_request_ids\":[";
  for (size_t i = 0; i < a.sample_request_ids.size(); ++i) o += (i ? "," : "") + escape_ref(a.sample_request_ids[i]);
  return o + "]}}";
}

}  // namespace

TEST_CASE("alert_to_json matches the reference line", "[sink][json]") {
  std::mt19937_64 rng(5);
  const char alphabet[] = {'a', 'Z', '0', ' ', '"', '\\', '\n', '\x01', '\x1f', '\xc3', '\xa9', '/', '-'};
  auto text = [&](size_t max) {
    std::string s(rng() % (max + 1), 'x');
    for (auto& c : s) c = rng() % 4 ? static_cast<char>('a' + rng() % 26) : alphabet[rng() % sizeof alphabet];
    return s;
  };
  auto number = [&]() -> double {
    switch (rng() % 6) {
      case 0: return static_cast<double>(rng() % 100);
      case 1: return static_cast<double>(rng() % 1000000) / 7.0;
      case 2: return -static_cast<double>(rng() % 1000) / 3.0;
      case 3: return 1e200;
      case 4: return NAN;
      default: return static_cast<double>(rng() % 100000) / 32.0;
    }
  };
  std::string reused;
  for (int i = 0; i < 3000; ++i) {
    Alert a;
    a.id = text(20);
    a.time_ms = static_cast<int64_t>(rng() % 4000000000000ull) - 500000000000ll;
    a.account = text(300);
    a.critical = rng() % 2;
    a.score = number();
    for (size_t r = rng() % 6; r > 0; --r) a.reasons.push_back({text(30), number(), number()});
    a.has_cluster = rng() % 2;
    a.cluster.id = text(16);
    a.cluster.size = rng();
    for (size_t m = rng() % 25; m > 0; --m) a.cluster.members.push_back(text(40));
    a.requests = rng();
    for (size_t m = rng() % 4; m > 0; --m) a.sample_request_ids.push_back(text(64));
    const std::string ref = alert_json_ref(a);
    REQUIRE(alert_to_json(a) == ref);
    reused.resize(rng() % 3 ? 0 : 5, 'p');  // appends after what is there, reusing the capacity
    const std::string before = reused;
    alert_to_json_append(reused, a);
    REQUIRE(reused == before + ref);
  }
}

namespace {

// Lowers this process's file size limit (RLIMIT_FSIZE) so that writes past
// `bytes` fail with EFBIG, as a full disk fails them with ENOSPC; SIGXFSZ is
// ignored meanwhile (distillscan's main() ignores it for good). Restored when
// it goes out of scope or by lift(). Process-wide: keep Catch2 assertions
// that could fail out of the limited stretch where a report might go to a
// regular file; a pipe (ctest) is not limited.
struct FileSizeLimit {
  rlimit old{};
  void (*old_handler)(int) = SIG_DFL;
  bool set = false;
  explicit FileSizeLimit(rlim_t bytes) {
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    rlimit lim = old;
    lim.rlim_cur = bytes;
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    set = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    if (!set) std::signal(SIGXFSZ, old_handler);
    REQUIRE(set);
  }
  void lift() {
    if (!set) return;
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    set = false;
  }
  ~FileSizeLimit() { lift(); }
};

Alert numbered_alert(int i) {
  Alert a;
  a.id = "id-" + std::to_string(i);
  a.account = "acct-" + std::to_string(i);
  return a;
}

}  // namespace

TEST_CASE("JsonlAlertSink loses no alert to a failed write: the rest follows once the file can grow", "[sink][json]") {
  const TempFile tmp;
  const std::string& path = tmp.path;
  std::string expected;
  auto expect = [&](int i) { expected += alert_to_json(numbered_alert(i)) + "\n"; };
  const bool append = GENERATE(false, true);
  if (append) {  // an existing alert line stays
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    const std::string first = alert_to_json(numbered_alert(0)) + "\n";
    REQUIRE(std::fwrite(first.data(), 1, first.size(), f) == first.size());
    std::fclose(f);
    expected = first;
  }
  auto sink = JsonlAlertSink::open(path, append);
  REQUIRE(sink);
  JsonlAlertSink& s = **sink;
  for (int i = 1; i <= 3; ++i) s.write(numbered_alert(i)), expect(i);
  REQUIRE(s.sync());
  REQUIRE(read_all(path) == expected);
  const size_t line = alert_to_json(numbered_alert(4)).size() + 1;

  // Where the limit falls: inside the next line, right after it, or inside the one after.
  const size_t room = GENERATE_COPY(size_t{10}, line, line + 7);
  std::vector<size_t> sizes;  // the file's size after each step while writes fail
  bool flush_failed = false, checkpoint_refused = false;
  AlertsOut state_full = AlertsOut::written;
  size_t held_full = 0;
  std::string flush_error;
  {
    FileSizeLimit limit(expected.size() + room);
    s.begin_batch();
    for (int i = 4; i <= 6; ++i) s.write(numbered_alert(i)), expect(i);
    s.end_batch();
    sizes.push_back(read_all(path).size());
    auto f = s.flush();
    flush_failed = !f;
    if (!f) flush_error = f.error().message;
    checkpoint_refused = !s.sync_for_checkpoint();
    s.write(numbered_alert(7)), expect(7);  // alone, while it fails: held in order
    sizes.push_back(read_all(path).size());
    state_full = s.flush_state();
    held_full = s.pending_bytes();
  }
  CHECK(state_full == AlertsOut::held);
  CHECK(held_full == expected.size() - sizes.back());
  CHECK(flush_failed);
  CHECK(flush_error.find(std::strerror(EFBIG)) != std::string::npos);
  CHECK(checkpoint_refused);
  CHECK_FALSE(s.lost());
  // Written as far as the limit, never cut back: the file only grows.
  CHECK(sizes.front() == expected.size() - 4 * line + room);
  CHECK(sizes.back() == sizes.front());
  CHECK(expected.compare(0, sizes.front(), read_all(path)) == 0);

  // Room again: a flush writes the rest of the cut line and everything held.
  CHECK(s.flush_state() == AlertsOut::written);
  REQUIRE(s.flush());
  CHECK(s.pending_bytes() == 0);
  CHECK(read_all(path) == expected);
  CHECK(s.sync_for_checkpoint());
  s.write(numbered_alert(8)), expect(8);
  REQUIRE(s.flush());
  sink->reset();
  CHECK(read_all(path) == expected);
}

TEST_CASE("JsonlAlertSink keeps a loss until a restart when more than kMaxPending is held, and writes later alerts",
          "[sink][json]") {
  const TempFile tmp;
  const std::string& path = tmp.path;
  Alert a;
  a.id = "0123456789abcdef";
  a.account = std::string(200, 'x');
  const size_t line = alert_to_json(a).size() + 1;
  auto sink = JsonlAlertSink::open(path, /*append=*/false);
  REQUIRE(sink);
  JsonlAlertSink& s = **sink;
  s.write(a);
  REQUIRE(s.flush());
  size_t sent = 0;
  bool lost_while_full = false;
  {
    FileSizeLimit limit(line);  // nothing more fits
    for (; sent * line <= JsonlAlertSink::kMaxPending; ++sent) s.write(a);
    lost_while_full = s.lost();
  }
  CHECK(lost_while_full);
  const size_t held = s.pending_bytes() / line;
  CHECK(held == JsonlAlertSink::kMaxPending / line);  // the ones past the cap were dropped
  CHECK(held < sent);
  // Room again: what was held goes out, and later alerts too; some were
  // dropped, so their ids must not be shared.
  CHECK(s.flush_state() == AlertsOut::lost);
  s.write(a);
  CHECK(s.pending_bytes() == 0);
  CHECK(s.flush_state() == AlertsOut::lost);  // and stays so: nothing is synced before a restart
  auto f = s.flush();
  REQUIRE_FALSE(f);  // but the dropped ones are lost: no checkpoint until a restart
  CHECK(f.error().message.find("alerts dropped") != std::string::npos);
  CHECK_FALSE(s.sync_for_checkpoint());
  const std::string content = read_all(path);
  CHECK(content.size() == (1 + held + 1) * line);
  CHECK(content.back() == '\n');
}

TEST_CASE("JsonlAlertSink::durable_state syncs what is new before saying written, and keeps a failed sync as a loss",
          "[sink][json]") {
  const TempFile tmp;
  auto sink = JsonlAlertSink::open(tmp.path, /*append=*/true);
  REQUIRE(sink);
  JsonlAlertSink& s = **sink;
  int fd = -1;  // the sink's descriptor: the one open on the file
  for (int i = 0; i < 1024; ++i) {
    char link[64], target[4096];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", i);
    const ssize_t n = ::readlink(link, target, sizeof target - 1);
    if (n > 0 && std::string(target, static_cast<size_t>(n)) == tmp.path) fd = i;
  }
  REQUIRE(fd >= 0);
  fdatasync_probe::watch_fd = fd;
  fdatasync_probe::calls = 0;
  struct Unwatch {
    ~Unwatch() {
      fdatasync_probe::watch_fd = -1;
      fdatasync_probe::fail = false;
    }
  } unwatch;

  CHECK(s.durable_state() == AlertsOut::written);  // nothing written: nothing to sync
  CHECK(fdatasync_probe::calls == 0);
  s.write(numbered_alert(1));
  CHECK(s.flush_state() == AlertsOut::written);  // flushed only: no sync
  CHECK(fdatasync_probe::calls == 0);
  CHECK(s.durable_state() == AlertsOut::written);
  CHECK(fdatasync_probe::calls == 1);
  CHECK(s.durable_state() == AlertsOut::written);  // nothing new since
  CHECK(fdatasync_probe::calls == 1);
  s.begin_batch();
  s.write(numbered_alert(2));
  s.write(numbered_alert(3));
  s.end_batch();
  CHECK(s.durable_state() == AlertsOut::written);
  CHECK(fdatasync_probe::calls == 2);
  REQUIRE(s.sync());  // a checkpoint's sync always asks the kernel
  CHECK(fdatasync_probe::calls == 3);
  CHECK(s.durable_state() == AlertsOut::written);
  CHECK(fdatasync_probe::calls == 3);

  // Held by a failed write: not written, so neither synced nor shared; once
  // the file can grow, written and synced once.
  {
    FileSizeLimit limit(read_all(tmp.path).size() + 10);
    s.write(numbered_alert(9));
    const AlertsOut full = s.durable_state();
    const int calls_full = fdatasync_probe::calls;
    limit.lift();
    CHECK(full == AlertsOut::held);
    CHECK(calls_full == 3);
  }
  CHECK(s.durable_state() == AlertsOut::written);
  CHECK(fdatasync_probe::calls == 4);
  CHECK(s.durable_state() == AlertsOut::written);
  CHECK(fdatasync_probe::calls == 4);

  // A writeback error: the new alert may be gone in a crash, so its id must not be shared.
  s.write(numbered_alert(4));
  fdatasync_probe::fail = true;
  CHECK(s.durable_state() == AlertsOut::lost);
  fdatasync_probe::fail = false;
  CHECK(s.lost());
  CHECK(s.durable_state() == AlertsOut::lost);  // kept: Linux reports the error once
  s.write(numbered_alert(5));
  CHECK(s.durable_state() == AlertsOut::lost);
  CHECK_FALSE(s.sync_for_checkpoint());
  std::string expected;
  for (int i : {1, 2, 3, 9, 4, 5}) expected += alert_to_json(numbered_alert(i)) + "\n";
  CHECK(read_all(tmp.path) == expected);  // later alerts are still written
}
