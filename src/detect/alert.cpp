#include "detect/alert.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "core/json_write.hpp"

namespace ds {

void reasons_json_append(std::string& o, const std::vector<AlertReason>& reasons) {
  for (size_t i = 0; i < reasons.size(); ++i) {
    if (i) o += ',';
    o += "{\"detector\":";
    json_escape_append(o, reasons[i].detector);
    o += ",\"value\":";
    json_number_append(o, reasons[i].value);
    o += ",\"threshold\":";
    json_number_append(o, reasons[i].threshold);
    o += '}';
  }
}

namespace {

// format_time_utc into buf (>= 128 bytes); returns the length.
size_t format_time_utc_buf(char* buf, int64_t time_ms) {
  // Civil-from-days (proleptic Gregorian), independent of the C library's TZ.
  int64_t secs = time_ms >= 0 ? time_ms / 1000 : (time_ms - 999) / 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t sod = secs - days * 86400;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  if (y >= 0 && y <= 9999) {
    // Digits by hand: snprintf was most of an alert line's formatting
    // (alert lines are written on the collector thread).
    const auto two = [](char* p, int64_t v) {
      p[0] = static_cast<char>('0' + v / 10);
      p[1] = static_cast<char>('0' + v % 10);
    };
    two(buf, y / 100);
    two(buf + 2, y % 100);
    buf[4] = '-';
    two(buf + 5, m);
    buf[7] = '-';
    two(buf + 8, d);
    buf[10] = 'T';
    two(buf + 11, sod / 3600);
    buf[13] = ':';
    two(buf + 14, sod / 60 % 60);
    buf[16] = ':';
    two(buf + 17, sod % 60);
    buf[19] = 'Z';
    return 20;
  }
  const int n = std::snprintf(buf, 128, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60));
  return n > 0 ? std::min<size_t>(static_cast<size_t>(n), 127) : 0;
}

}  // namespace

void format_time_utc_append(std::string& out, int64_t time_ms) {
  char buf[128];
  out.append(buf, format_time_utc_buf(buf, time_ms));
}

std::string format_time_utc(int64_t time_ms) {
  std::string s;
  format_time_utc_append(s, time_ms);
  return s;
}

namespace {

// Writes one alert line straight into a std::string's buffer: room is made
// (doubling) before each piece, so a reused line buffer is written with
// plain stores and memcpy, not an append call per piece (alert lines are
// written on the collector thread, which limits -j scaling).
class LineWriter {
 public:
  explicit LineWriter(std::string& s) : s_(s) {
    const size_t at = s_.size();
    s_.resize(std::max(s_.capacity(), at + 1024));
    p_ = s_.data() + at;
    end_ = s_.data() + s_.size();
  }
  ~LineWriter() { s_.resize(static_cast<size_t>(p_ - s_.data())); }

  void room(size_t n) {
    if (static_cast<size_t>(end_ - p_) >= n) return;
    const size_t at = static_cast<size_t>(p_ - s_.data());
    s_.resize(std::max(2 * s_.size(), at + n));
    p_ = s_.data() + at;
    end_ = s_.data() + s_.size();
  }
  template <size_t N>
  void lit(const char (&x)[N]) {  // a string literal, without its NUL
    room(N - 1);
    std::memcpy(p_, x, N - 1);
    p_ += N - 1;
  }
  void ch(char c) {
    room(1);
    *p_++ = c;
  }
  void str(std::string_view v) {  // quoted and escaped
    room(6 * v.size() + 2);
    *p_++ = '"';
    p_ = json_escape_raw(p_, v);
    *p_++ = '"';
  }
  void num(double v) {
    char buf[32];
    if (const char* d = json_number_fast(buf + sizeof buf, v)) {
      raw(std::string_view(d, static_cast<size_t>(buf + sizeof buf - d)));
    } else {
      std::string slow;
      json_number_append(slow, v);
      raw(slow);
    }
  }
  void uint(uint64_t v) {
    room(20);
    p_ = std::to_chars(p_, end_, v).ptr;
  }
  void raw(std::string_view v) {
    room(v.size());
    std::memcpy(p_, v.data(), v.size());
    p_ += v.size();
  }
  void time(int64_t ms) {  // RFC 3339, quoted (nothing in it needs escaping)
    room(130);
    *p_++ = '"';
    p_ += format_time_utc_buf(p_, ms);
    *p_++ = '"';
  }

 private:
  std::string& s_;
  char* p_;
  char* end_;
};

}  // namespace

void alert_to_json_append(std::string& o, const Alert& a) {
  LineWriter w(o);
  w.lit("{\"id\":");
  w.str(a.id);
  w.lit(",\"time\":");
  w.time(a.time_ms);
  w.lit(",\"account\":");
  w.str(a.account);
  if (a.critical)
    w.lit(",\"severity\":\"critical\",\"score\":");
  else
    w.lit(",\"severity\":\"warning\",\"score\":");
  w.num(a.score);
  w.lit(",\"reasons\":[");
  for (size_t i = 0; i < a.reasons.size(); ++i) {
    if (i) w.ch(',');
    w.lit("{\"detector\":");
    w.str(a.reasons[i].detector);
    w.lit(",\"value\":");
    w.num(a.reasons[i].value);
    w.lit(",\"threshold\":");
    w.num(a.reasons[i].threshold);
    w.ch('}');
  }
  w.ch(']');
  if (a.has_cluster) {
    w.lit(",\"cluster\":{\"id\":");
    w.str(a.cluster.id);
    w.lit(",\"size\":");
    w.uint(a.cluster.size);
    w.lit(",\"members\":[");
    for (size_t i = 0; i < a.cluster.members.size(); ++i) {
      if (i) w.ch(',');
      w.str(a.cluster.members[i]);
    }
    w.lit("]}");
  }
  w.lit(",\"evidence\":{\"requests\":");
  w.uint(a.requests);
  w.lit(",\"sample_request_ids\":[");
  for (size_t i = 0; i < a.sample_request_ids.size(); ++i) {
    if (i) w.ch(',');
    w.str(a.sample_request_ids[i]);
  }
  w.lit("]}}");
}

std::string alert_to_json(const Alert& a) {
  std::string o;
  o.reserve(256);
  alert_to_json_append(o, a);
  return o;
}

}  // namespace ds
