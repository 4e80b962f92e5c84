// Why a line did not become an event. Each reason is counted on its own;
// records + sum(errors) == lines always holds.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace ds {

enum class ErrorReason : uint8_t {
  empty_line,       // nothing but whitespace (a lone "\r" included)
  line_too_long,    // longer than limits.max_line_bytes; skipped whole
  invalid_json,     // syntax error, truncated document, trailing garbage
  invalid_utf8,     // bytes that are not UTF-8
  too_deep,         // nesting beyond the parser's depth limit
  not_an_object,    // valid JSON whose top level is not an object
  missing_time,     // no value at the `time` pointer
  missing_account,  // no value at the `account` pointer
  bad_time,         // `time` present but not an RFC 3339 string or epoch number
  bad_account,      // `account` present but not a non-empty string or integer
  kCount
};

inline constexpr size_t kErrorReasonCount = static_cast<size_t>(ErrorReason::kCount);


inline std::string_view reason_name(ErrorReason r) {
  switch (r) {
    case ErrorReason::empty_line: return "empty_line";
    case ErrorReason::line_too_long: return "line_too_long";
    case ErrorReason::invalid_json: return "invalid_json";
    case ErrorReason::invalid_utf8: return "invalid_utf8";
    case ErrorReason::too_deep: return "too_deep";
    case ErrorReason::not_an_object: return "not_an_object";
    case ErrorReason::missing_time: return "missing_time";
    case ErrorReason::missing_account: return "missing_account";
    case ErrorReason::bad_time: return "bad_time";
    case ErrorReason::bad_account: return "bad_account";
    case ErrorReason::kCount: break;
  }
  return "unknown";
}

struct ErrorCounts {
  std::array<uint64_t, kErrorReasonCount> n{};
  void add(ErrorReason r, uint64_t k = 1) { n[static_cast<size_t>(r)] += k; }
  uint64_t get(ErrorReason r) const { return n[static_cast<size_t>(r)]; }
  uint64_t total() const {
    uint64_t t = 0;
    for (auto v : n) t += v;
    return t;
  }
  ErrorCounts& operator+=(const ErrorCounts& o) {
    for (size_t i = 0; i < n.size(); ++i) n[i] += o.n[i];
    return *this;
  }
  void clear() { n.fill(0); }
};

}  // namespace ds
