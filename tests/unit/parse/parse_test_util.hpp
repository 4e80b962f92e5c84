// Helpers for the parse-stage tests: padded single-line parsing and a
// TextScanner that records what it was given.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/chunk.hpp"
#include "core/text_scanner.hpp"
#include "parse/line_parser.hpp"

namespace ds::test {

struct RecordingScanner : TextScanner {
  std::vector<std::pair<TextField, std::string>> calls;
  void scan(std::string_view text, TextField field, RuleBits& hits, uint32_t& categories) noexcept override {
    calls.emplace_back(field, std::string(text));
    hits.set(static_cast<size_t>(field));
    categories |= field_bit(field);
  }
  std::vector<std::string> texts(TextField f) const {
    std::vector<std::string> out;
    for (const auto& [field, text] : calls)
      if (field == f) out.push_back(text);
    return out;
  }
};

// Copies `line` into a buffer followed by kChunkPadding bytes of `pad`
// (garbage by default: the parser must not depend on zero padding).
inline std::string padded(std::string_view line, char pad = '}') {
  std::string s(line);
  s.append(kChunkPadding, pad);
  return s;
}

struct OneLine {
  EventBatch batch;
  bool ok() const { return batch.events.size() == 1; }
  const Event& event() const { return batch.events.at(0); }
  // The single error reason counted, or kCount if the line became an event.
  ErrorReason reason() const {
    for (size_t i = 0; i < kErrorReasonCount; ++i)
      if (batch.errors.n[i] != 0) return static_cast<ErrorReason>(i);
    return ErrorReason::kCount;
  }
  std::string_view account() const { return batch.view(event().account); }
  std::string_view request_id() const { return batch.view(event().request_id); }
};

inline OneLine parse_one(LineParser& p, std::string_view line, TextScanner* scanner = nullptr) {
  OneLine r;
  std::string buf = padded(line);
  p.parse_line(std::string_view(buf.data(), line.size()), 7, scanner, r.batch);
  return r;
}

inline OneLine parse_one(std::string_view line, TextScanner* scanner = nullptr, ParseOptions opt = {}) {
  LineParser p(FieldMapping::defaults(), opt);
  return parse_one(p, line, scanner);
}

}  // namespace ds::test
