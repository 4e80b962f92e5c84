// Minimal JSON writing helpers for alerts, stats and reports. Output is
// deterministic: fixed number formatting, keys in the order written.
#pragma once
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace ds {

inline void json_escape_append(std::string& out, std::string_view s) {
  out.push_back('"');
  // Runs of bytes that need no escape are appended whole.
  size_t plain = 0;
  while (plain < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[plain]);
    if (c < 0x20 || c == '"' || c == '\\') break;
    ++plain;
  }
  out.append(s.data(), plain);
  s.remove_prefix(plain);
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
  out.push_back('"');
}

// A double with up to 4 decimals, trailing zeros trimmed ("0.93", "12", "0.0001").
inline void json_number_append(std::string& out, double v) {
  if (!(v == v) || v > 1e300 || v < -1e300) {  // NaN/inf are not JSON
    out += "null";
    return;
  }
  // std::to_chars: the same correctly rounded digits as printf("%.4f"),
  // without the locale and format parsing (alert lines are written on the
  // collector thread, which limits -j scaling). |v| <= 1e300: 301 digits + ".dddd".
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

inline void json_uint_append(std::string& out, uint64_t v) { out += std::to_string(v); }

}  // namespace ds
