// JSON text helpers for the generator: string escaping (UTF-8 kept as is, or
// \uXXXX-escaped like Python's json.dumps default), integer and fixed-point
// formatting without printf of doubles, and RFC 3339 timestamps.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace gen {

enum class EscapeStyle : uint8_t {
  Utf8,        // raw UTF-8, minimal escapes (Go, Node, most gateways)
  Ascii,       // non-ASCII as \uXXXX with surrogate pairs (Python ensure_ascii)
  AsciiSlash,  // as Ascii, and '/' as "\/" (PHP json_encode)
};

// Appends s as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s, EscapeStyle style = EscapeStyle::Utf8);

inline void append_int(std::string& out, int64_t v) {
  char buf[24];
  char* p = buf + sizeof buf;
  const bool neg = v < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  if (neg) *--p = '-';
  out.append(p, static_cast<size_t>(buf + sizeof buf - p));
}

// value / 10^decimals, trailing zeros trimmed ("0.7", "1", "0.00042").
void append_fixed(std::string& out, int64_t value, int decimals);

// Days since 1970-01-01 for a civil date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

// "2026-11-28T10:15:00.123Z" (frac_digits 3, suffix "Z") or
// "2026-11-28T10:15:00.123000+00:00" (frac_digits 6, suffix "+00:00").
void append_rfc3339(std::string& out, int64_t epoch_ms, int frac_digits, std::string_view suffix);

// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm)" into epoch ms; false if malformed.
bool parse_rfc3339(std::string_view s, int64_t& epoch_ms);

// Approximate BPE token count of a text (~4 ASCII bytes or ~1 CJK char per token).
uint32_t approx_tokens(std::string_view s);

}  // namespace gen
