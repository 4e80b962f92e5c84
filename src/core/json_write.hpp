// Minimal JSON writing helpers for alerts, stats and reports. Output is
// deterministic: fixed number formatting, keys in the order written.
#pragma once
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace ds {

// Length of the prefix of `s` that needs no escape (no byte < 0x20, '"' or
// '\\'). Eight bytes at a time: alert lines are written on the collector
// thread, which limits -j scaling.
inline size_t json_plain_prefix(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  const char* p = s.data();
  const size_t n = s.size();
  size_t i = 0;
  // Per mask the lowest flagged byte is exact (borrows only run upwards
  // from a true hit), so the lowest bit of the union is the first hit.
  const auto hits = [](uint64_t w) {
    const uint64_t q = w ^ (kOnes * '"'), b = w ^ (kOnes * '\\');
    return (((w - kOnes * 0x20) & ~w) | ((q - kOnes) & ~q) | ((b - kOnes) & ~b)) & kHigh;
  };
  if (n >= 8) {
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (const uint64_t t = hits(w)) return i + static_cast<size_t>(std::countr_zero(t) / 8);
    }
    if (i == n) return n;
    // The last 8 bytes, overlapping checked ones: those hold no hit (and so
    // cause no false one), so the lowest flagged byte is the first in [i, n).
    uint64_t w;
    std::memcpy(&w, p + n - 8, 8);
    const uint64_t t = hits(w);
    return t ? n - 8 + static_cast<size_t>(std::countr_zero(t) / 8) : n;
  }
  for (; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == '"' || c == '\\') break;
  }
  return i;
}

// Writes the escaped bytes of `s` (no quotes) at `p`, which has room for
// 6 * s.size() bytes; returns the end.
inline char* json_escape_raw(char* p, std::string_view s) {
  for (;;) {
    // Runs of bytes that need no escape are copied whole.
    const size_t plain = json_plain_prefix(s);
    std::memcpy(p, s.data(), plain);
    p += plain;
    s.remove_prefix(plain);
    if (s.empty()) return p;
    const unsigned char c = static_cast<unsigned char>(s[0]);
    s.remove_prefix(1);
    char e = 0;
    switch (c) {
      case '"': e = '"'; break;
      case '\\': e = '\\'; break;
      case '\n': e = 'n'; break;
      case '\r': e = 'r'; break;
      case '\t': e = 't'; break;
      case '\b': e = 'b'; break;
      case '\f': e = 'f'; break;
      default: break;
    }
    *p++ = '\\';
    if (e) {
      *p++ = e;
    } else {  // other control bytes: \u00XX (lowercase hex)
      static constexpr char kHex[] = "0123456789abcdef";
      p[0] = 'u', p[1] = '0', p[2] = '0', p[3] = kHex[c >> 4], p[4] = kHex[c & 0xF];
      p += 5;
    }
  }
}

inline void json_escape_append(std::string& out, std::string_view s) {
  const size_t plain = json_plain_prefix(s);
  out.push_back('"');
  if (plain == s.size()) {
    out.append(s.data(), s.size());
  } else {
    const size_t at = out.size();
    out.resize(at + 6 * s.size());
    out.resize(static_cast<size_t>(json_escape_raw(out.data() + at, s) - out.data()));
  }
  out.push_back('"');
}

// The reference formatting of json_number_append (std::to_chars, then trimmed).
inline void json_number_append_slow(std::string& out, double v) {
  // std::to_chars: the same correctly rounded digits as printf("%.4f"),
  // without the locale and format parsing. |v| <= 1e300: 301 digits + ".dddd".
  char buf[320];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 4);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  if (s.find('.') != std::string_view::npos) {
    while (s.back() == '0') s.remove_suffix(1);
    if (s.back() == '.') s.remove_suffix(1);
  }
  if (s == "-0") s = "0";
  out += s;
}

// The fast path of json_number_append (alert lines are written on the
// collector thread, which limits -j scaling): writes the digits ending at
// `end` (at most 21 bytes before it) and returns their start, or nullptr
// when v needs json_number_append_slow. Same bytes as the slow path: the
// digits are round(v * 10^4) computed exactly. y = fl(v * 10^4) is within
// |y| * 2^-53 of the exact product, so unless y lies within that margin
// (taken generously) of a rounding boundary n + 0.5, rounding y gives the
// same integer as rounding the exact product. Ties and near-ties, NaN,
// infinities and |y| >= 1e15 take the slow path.
inline char* json_number_fast(char* end, double v) {
  const double y = v * 10000.0;
  const double a = y < 0 ? -y : y;
  if (!(a < 1e15)) return nullptr;  // also NaN
  uint64_t n = static_cast<uint64_t>(a);        // exact: a < 2^53
  const double f = a - static_cast<double>(n);  // exact
  const double margin = (a + 1.0) * 0x1p-48;
  if (!(f < 0.5 - margin || f > 0.5 + margin)) return nullptr;
  n += f > 0.5;
  char* p = end;
  uint64_t frac = n % 10000, ip = n / 10000;
  if (frac) {
    int digits = 4;
    while (frac % 10 == 0) frac /= 10, --digits;
    for (int i = 0; i < digits; ++i) *--p = static_cast<char>('0' + frac % 10), frac /= 10;
    *--p = '.';
  }
  do *--p = static_cast<char>('0' + ip % 10), ip /= 10;
  while (ip);
  if (v < 0 && n != 0) *--p = '-';
  return p;
}

// A double with up to 4 decimals, trailing zeros trimmed ("0.93", "12", "0.0001").
inline void json_number_append(std::string& out, double v) {
  char buf[32];
  if (const char* p = json_number_fast(buf + sizeof buf, v)) {
    out.append(p, static_cast<size_t>(buf + sizeof buf - p));
    return;
  }
  if (!(v == v) || v > 1e300 || v < -1e300) {  // NaN/inf are not JSON
    out += "null";
    return;
  }
  json_number_append_slow(out, v);
}

inline void json_uint_append(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

}  // namespace ds
