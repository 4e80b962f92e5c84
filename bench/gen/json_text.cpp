#include "json_text.hpp"

#include <array>

namespace gen {

namespace {
// 0 = copy, 1 = needs escaping (control, quote, backslash), 2 = non-ASCII, 3 = '/'
constexpr std::array<uint8_t, 256> make_class() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<size_t>(c)] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  t['/'] = 3;
  for (int c = 0x80; c < 0x100; ++c) t[static_cast<size_t>(c)] = 2;
  return t;
}
constexpr auto kClass = make_class();
constexpr char kHex[] = "0123456789abcdef";

void append_u(std::string& out, unsigned cp) {
  char b[6] = {'\\', 'u', kHex[(cp >> 12) & 15], kHex[(cp >> 8) & 15], kHex[(cp >> 4) & 15], kHex[cp & 15]};
  out.append(b, 6);
}

void append2(std::string& out, unsigned v) {
  out += static_cast<char>('0' + v / 10);
  out += static_cast<char>('0' + v % 10);
}
}  // namespace

void append_json_string(std::string& out, std::string_view s, EscapeStyle style) {
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  const uint8_t nonascii_class = style == EscapeStyle::Utf8 ? 0 : 2;
  const bool slash = style == EscapeStyle::AsciiSlash;
  size_t run = 0;
  for (size_t i = 0; i < n;) {
    const uint8_t cls = kClass[p[i]];
    if (cls == 0 || (cls == 2 && nonascii_class == 0) || (cls == 3 && !slash)) {
      ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    if (cls == 3) {
      out += "\\/";
      ++i;
    } else if (cls == 1) {
      const unsigned char c = p[i];
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          append_u(out, c);
      }
      ++i;
    } else {
      // Decode one UTF-8 sequence (input is generated, hence valid).
      unsigned cp;
      size_t len;
      const unsigned char c = p[i];
      if (c >= 0xF0) {
        cp = c & 0x07u;
        len = 4;
      } else if (c >= 0xE0) {
        cp = c & 0x0Fu;
        len = 3;
      } else {
        cp = c & 0x1Fu;
        len = 2;
      }
      for (size_t k = 1; k < len && i + k < n; ++k) cp = (cp << 6) | (p[i + k] & 0x3Fu);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        append_u(out, 0xD800 + (cp >> 10));
        append_u(out, 0xDC00 + (cp & 0x3FF));
      } else {
        append_u(out, cp);
      }
      i += len;
    }
    run = i;
  }
  out.append(s.data() + run, n - run);
  out += '"';
}

void append_fixed(std::string& out, int64_t value, int decimals) {
  if (value < 0) {
    out += '-';
    value = -value;
  }
  int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  append_int(out, value / scale);
  int64_t frac = value % scale;
  if (frac == 0) return;
  char digits[20];
  int nd = decimals;
  for (int i = decimals - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  while (nd > 0 && digits[nd - 1] == '0') --nd;
  out += '.';
  out.append(digits, static_cast<size_t>(nd));
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void append_rfc3339(std::string& out, int64_t epoch_ms, int frac_digits, std::string_view suffix) {
  int64_t days = epoch_ms / 86400000;
  int64_t ms_of_day = epoch_ms % 86400000;
  if (ms_of_day < 0) {
    ms_of_day += 86400000;
    --days;
  }
  // civil_from_days
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y0 = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = y0 + (m <= 2);
  append_int(out, y);
  out += '-';
  append2(out, m);
  out += '-';
  append2(out, d);
  out += 'T';
  const unsigned secs = static_cast<unsigned>(ms_of_day / 1000);
  append2(out, secs / 3600);
  out += ':';
  append2(out, secs / 60 % 60);
  out += ':';
  append2(out, secs % 60);
  if (frac_digits > 0) {
    unsigned ms = static_cast<unsigned>(ms_of_day % 1000);
    out += '.';
    out += static_cast<char>('0' + ms / 100);
    out += static_cast<char>('0' + ms / 10 % 10);
    out += static_cast<char>('0' + ms % 10);
    for (int i = 3; i < frac_digits; ++i) out += '0';
  }
  out += suffix;
}

bool parse_rfc3339(std::string_view s, int64_t& epoch_ms) {
  auto num = [&](size_t pos, size_t len, int& v) {
    if (pos + len > s.size()) return false;
    v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    return true;
  };
  int Y, M, D, h, mi, sec;
  if (!num(0, 4, Y) || s.size() < 19 || s[4] != '-' || !num(5, 2, M) || s[7] != '-' || !num(8, 2, D) ||
      (s[10] != 'T' && s[10] != ' ') || !num(11, 2, h) || s[13] != ':' || !num(14, 2, mi) || s[16] != ':' ||
      !num(17, 2, sec))
    return false;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60) return false;
  size_t pos = 19;
  int ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) ms = ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return false;
    for (int i = digits; i < 3; ++i) ms *= 10;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!num(pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !num(pos + 4, 2, om))
      return false;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  const int64_t days = days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
  epoch_ms = ((days * 24 + h) * 60 + mi) * 60000 + int64_t(sec) * 1000 + ms - int64_t(offset_min) * 60000;
  return true;
}

uint32_t approx_tokens(std::string_view s) {
  size_t ascii = 0, lead = 0;
  for (unsigned char c : s) {
    if (c < 0x80)
      ++ascii;
    else if (c >= 0xC0)
      ++lead;
  }
  return static_cast<uint32_t>(ascii / 4 + lead + 1);
}

}  // namespace gen
