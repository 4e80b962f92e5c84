// Event-time parsing: RFC 3339 strings and epoch numbers to Unix epoch
// milliseconds (UTC). Pure arithmetic: no locale, no timegm, no allocation.
//
// Accepted strings: YYYY-MM-DD(T|t| )hh:mm:ss[.fraction][Z|z|(+|-)hh:mm].
// The fraction may have any number of digits (truncated to milliseconds); a
// missing zone means UTC (common in exported logs); second 60 (a leap second)
// is read as 59. Results outside [0, 1e13] ms (1970 .. year 2286) are rejected,
// the same window epoch numbers get.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "parse/line_parser.hpp"

namespace ds {

namespace {

constexpr int64_t kMaxEpochMs = 10'000'000'000'000;  // 1e13 ms, year 2286

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}
static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);

constexpr bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(int64_t y, unsigned m) {
  constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at s[pos..]; advances pos.
bool digits(std::string_view s, size_t& pos, size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

bool parse_rfc3339_ms(std::string_view s, int64_t& out_ms) noexcept {
  size_t pos = 0;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, pos, 4, year) || !expect(s, pos, '-') || !digits(s, pos, 2, month) || !expect(s, pos, '-') ||
      !digits(s, pos, 2, day))
    return false;
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return false;
  ++pos;
  if (!digits(s, pos, 2, hour) || !expect(s, pos, ':') || !digits(s, pos, 2, minute) ||
      !expect(s, pos, ':') || !digits(s, pos, 2, second))
    return false;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (second == 60) second = 59;

  unsigned millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t first = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - first < 3) millis = millis * 10 + static_cast<unsigned>(s[pos] - '0');
      ++pos;
    }
    size_t n = pos - first;
    if (n == 0) return false;
    for (size_t i = n; i < 3; ++i) millis *= 10;
  }

  int64_t offset_min = 0;
  if (pos < s.size()) {
    char z = s[pos];
    if (z == 'Z' || z == 'z') {
      ++pos;
    } else if (z == '+' || z == '-') {
      ++pos;
      unsigned oh = 0, om = 0;
      if (!digits(s, pos, 2, oh) || !expect(s, pos, ':') || !digits(s, pos, 2, om)) return false;
      if (oh > 23 || om > 59) return false;
      offset_min = int64_t{oh} * 60 + int64_t{om};
      if (z == '-') offset_min = -offset_min;
    } else {
      return false;
    }
  }
  if (pos != s.size()) return false;

  int64_t days = days_from_civil(year, month, day);
  int64_t secs =
      days * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + int64_t{second} - offset_min * 60;
  int64_t ms = secs * 1000 + millis;
  if (ms < 0 || ms > kMaxEpochMs) return false;
  out_ms = ms;
  return true;
}

bool epoch_to_ms(double v, int64_t& out_ms) noexcept {
  if (!std::isfinite(v)) return false;
  double ms = std::fabs(v) < 1e11 ? v * 1000.0 : v;
  if (ms < 0 || ms > static_cast<double>(kMaxEpochMs)) return false;
  out_ms = static_cast<int64_t>(std::floor(ms));
  return true;
}

}  // namespace ds
