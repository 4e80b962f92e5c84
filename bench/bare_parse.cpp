// distillscan-bare-parse: the throughput baseline for bench/run.sh.
// Reads a plain JSON-lines file with large reads, splits lines, and parses
// each line on its own with simdjson (DOM by default; --ondemand iterates
// every value with On Demand). Nothing else: no field extraction, no rules.
// Prints one JSON object per mode (with the simdjson kernel used):
//   {"mode":"dom","kernel":"haswell","bytes":…,"lines":…,"valid":…,"invalid":…,"seconds":…,"mb_per_s":…,"lines_per_s":…}
// --line-stats adds min/median/p99/max line length (keeps one uint32 per line).
#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bare_parse_od.hpp"

namespace {

using namespace simdjson;

constexpr size_t kBlock = 16u << 20;

struct Counts {
  uint64_t bytes = 0, lines = 0, valid = 0, invalid = 0, empty = 0, values = 0;
  std::vector<uint32_t> lengths;
};

// Run one pass over the file in the given mode.
bool run(const char* path, const OdKernel* od, bool line_stats, Counts& c, double& seconds) {
  const int fd = ::open(path, O_RDONLY);
  if (fd < 0) {
    std::fprintf(stderr, "distillscan-bare-parse: cannot open %s: %s\n", path, std::strerror(errno));
    return false;
  }
  size_t cap = kBlock;
  std::unique_ptr<char[]> buf(new char[cap + SIMDJSON_PADDING]);
  size_t have = 0;  // bytes in buf
  dom::parser dparser;
  void* oparser = od ? od->create() : nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  bool eof = false;
  while (!eof || have > 0) {
    if (!eof) {
      if (have == cap) {  // a line longer than the buffer: grow
        std::unique_ptr<char[]> bigger(new char[cap * 2 + SIMDJSON_PADDING]);
        std::memcpy(bigger.get(), buf.get(), have);
        buf = std::move(bigger);
        cap *= 2;
      }
      const ssize_t n = ::read(fd, buf.get() + have, cap - have);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::fprintf(stderr, "distillscan-bare-parse: read %s: %s\n", path, std::strerror(errno));
        ::close(fd);
        if (od) od->destroy(oparser);
        return false;
      }
      if (n == 0) eof = true;
      have += static_cast<size_t>(n);
      c.bytes += static_cast<uint64_t>(n);
    }
    std::memset(buf.get() + have, 0, SIMDJSON_PADDING);
    // Parse all complete lines (and the final unterminated one at EOF).
    const char* base = buf.get();
    size_t pos = 0;
    for (;;) {
      const void* nl = std::memchr(base + pos, '\n', have - pos);
      size_t end;
      if (nl) {
        end = static_cast<size_t>(static_cast<const char*>(nl) - base);
      } else if (eof && pos < have) {
        end = have;
      } else {
        break;
      }
      size_t len = end - pos;
      if (len && base[pos + len - 1] == '\r') --len;
      if (len == 0) {
        ++c.empty;
      } else {
        ++c.lines;
        if (line_stats) c.lengths.push_back(static_cast<uint32_t>(len));
        bool ok;
        if (od) {
          ok = od->parse(oparser, base + pos, len, cap + SIMDJSON_PADDING - pos, &c.values);
        } else {
          dom::element el;
          ok = !dparser.parse(base + pos, len, false).get(el);
        }
        ++(ok ? c.valid : c.invalid);
      }
      pos = end + 1;
      if (pos >= have) break;
    }
    if (pos >= have) {
      have = 0;
    } else {
      std::memmove(buf.get(), base + pos, have - pos);
      have -= pos;
    }
    if (eof) break;
  }
  ::close(fd);
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (od) od->destroy(oparser);
  return true;
}

void report(const char* mode, const char* kernel, const Counts& c, double secs) {
  std::printf(
      "{\"mode\":\"%s\",\"kernel\":\"%s\",\"bytes\":%llu,\"lines\":%llu,\"valid\":%llu,\"invalid\":%llu,"
      "\"empty\":%llu,"
      "\"seconds\":%.4f,\"mb_per_s\":%.1f,\"lines_per_s\":%.0f",
      mode, kernel, static_cast<unsigned long long>(c.bytes), static_cast<unsigned long long>(c.lines),
      static_cast<unsigned long long>(c.valid), static_cast<unsigned long long>(c.invalid),
      static_cast<unsigned long long>(c.empty), secs, static_cast<double>(c.bytes) / 1e6 / secs,
      static_cast<double>(c.lines) / secs);
  if (c.values) std::printf(",\"values\":%llu", static_cast<unsigned long long>(c.values));
  if (!c.lengths.empty()) {
    std::vector<uint32_t> v = c.lengths;
    std::sort(v.begin(), v.end());
    auto q = [&](double p) {
      return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
    };
    std::printf(",\"line_bytes\":{\"min\":%u,\"median\":%u,\"p90\":%u,\"p99\":%u,\"p999\":%u,\"max\":%u}",
                v.front(), q(0.5), q(0.9), q(0.99), q(0.999), v.back());
  }
  std::printf("}\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool dom_mode = false, od_mode = false, line_stats = false;
  const char* path = nullptr;
  const char* kUsage = "usage: distillscan-bare-parse [--dom|--ondemand|--both] [--line-stats] FILE\n";
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--dom") {
      dom_mode = true;
    } else if (a == "--ondemand") {
      od_mode = true;
    } else if (a == "--both") {
      dom_mode = od_mode = true;
    } else if (a == "--line-stats") {
      line_stats = true;
    } else if (a == "-h" || a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    } else if (!path && (a.empty() || a[0] != '-')) {
      path = argv[i];
    } else {
      std::fprintf(stderr, "distillscan-bare-parse: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (!path) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  if (!dom_mode && !od_mode) dom_mode = true;
  int rc = 0;
  if (dom_mode) {
    Counts c;
    double s = 0;
    if (!run(path, nullptr, line_stats, c, s)) return 1;
    report("dom", simdjson::get_active_implementation()->name().c_str(), c, s);
    if (c.invalid) rc = 3;
  }
  if (od_mode) {
    const OdKernel* od = bare_parse_od();
    Counts c;
    double s = 0;
    if (!run(path, od, line_stats && !dom_mode, c, s)) return 1;
    std::string k = simdjson::get_active_implementation()->name() + "+" + od->name;
    report("ondemand", k.c_str(), c, s);
    if (c.invalid) rc = 3;
  }
  return rc;
}
