// Minimal JSON writing helpers for alerts, stats and reports. Output is
// deterministic: fixed number formatting, keys in the order written.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace ds {

inline void json_escape_append(std::string& out, std::string_view s) {
  out.push_back('"');
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
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string_view s(buf);
  if (s.find('.') != std::string_view::npos) {
    while (s.back() == '0') s.remove_suffix(1);
    if (s.back() == '.') s.remove_suffix(1);
  }
  if (s == "-0") s = "0";
  out += s;
}

inline void json_uint_append(std::string& out, uint64_t v) { out += std::to_string(v); }

}  // namespace ds
