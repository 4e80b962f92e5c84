// Grammar checks for single JSON scalar tokens, used to validate values in
// place (without converting or copying them). Tokens come from simdjson's
// structural index: they run from a scalar's first byte to the next
// structural character, so trailing whitespace is trimmed first.
#pragma once
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ds::json_token {

inline bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

inline std::string_view trim_right(std::string_view t) {
  while (!t.empty() && is_ws(t.back())) t.remove_suffix(1);
  return t;
}

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// True if [p, p+n) contains a backslash. Reads whole 16-byte blocks, so up to
// 15 bytes past p+n must be readable (the padding after a line guarantees it).
// Inline because most strings in a record are short: a call costs more.
inline bool has_backslash_padded(const char* p, size_t n) {
#if defined(__SSE2__)
  const __m128i bs = _mm_set1_epi8('\\');
  for (size_t i = 0; i < n; i += 16) {
    auto m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), bs)));
    if (n - i < 16) m &= (1u << (n - i)) - 1;
    if (m != 0) return true;
  }
  return false;
#else
  return std::memchr(p, '\\', n) != nullptr;
#endif
}

// Offset of the first '"' or '\\' at or after p, which must exist. Reads
// whole 16-byte blocks (the padding after a line makes that safe).
inline size_t find_quote_or_backslash_padded(const char* p) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
  for (size_t i = 0;; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    auto m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs))));
    if (m != 0) return i + static_cast<size_t>(__builtin_ctz(m));
  }
#else
  size_t i = 0;
  while (p[i] != '"' && p[i] != '\\') ++i;
  return i;
#endif
}

// a == literal, with the literal's length known at compile time.
template <size_t N>
inline bool equals(std::string_view a, const char (&lit)[N]) {
  return a.size() == N - 1 && std::memcmp(a.data(), lit, N - 1) == 0;
}

// RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
inline bool valid_number(std::string_view t) {
  size_t i = 0, n = t.size();
  if (i < n && t[i] == '-') ++i;
  if (i >= n) return false;
  if (t[i] == '0') {
    ++i;
  } else if (t[i] >= '1' && t[i] <= '9') {
    while (i < n && is_digit(t[i])) ++i;
  } else {
    return false;
  }
  if (i < n && t[i] == '.') {
    ++i;
    size_t first = i;
    while (i < n && is_digit(t[i])) ++i;
    if (i == first) return false;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    size_t first = i;
    while (i < n && is_digit(t[i])) ++i;
    if (i == first) return false;
  }
  return i == n;
}

}  // namespace ds::json_token
