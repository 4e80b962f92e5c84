// LineParser: one per worker thread. Parses one JSON line with a simdjson On
// Demand parser it owns, walks the record once along the FieldMapping trie,
// appends an Event (or an error reason) to an EventBatch, and has the
// worker's TextScanner scan the event's texts (in batches, before the call
// returns). Never throws; allocates nothing per line once its buffers have
// grown. simdjson headers stay inside the .cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/event.hpp"
#include "core/text_scanner.hpp"
#include "parse/field_mapping.hpp"

namespace ds {

class TextScanner;

struct ParseOptions {
  // Validate every value of a record, also those no field maps to (catches
  // malformed JSON hidden in unmapped fields). Off = lazy: only mapped
  // fields are checked.
  bool full_validation = true;
};

class LineParser {
 public:
  LineParser(const FieldMapping& mapping, ParseOptions opt);
  ~LineParser();
  LineParser(const LineParser&) = delete;
  LineParser& operator=(const LineParser&) = delete;

  // `line` excludes the '\n' (a trailing '\r' may be present and is ignored).
  // At least kChunkPadding readable bytes must follow line.data()+line.size().
  // `scanner` may be null (no rules). Appends to out.events or counts in out.errors.
  void parse_line(std::string_view line, uint32_t line_in_chunk, TextScanner* scanner, EventBatch& out) noexcept;

  // Parses every line of a chunk's data (as produced by Framer): counts lines,
  // bytes, and fills `out`. Lines are split on '\n'.
  void parse_chunk(const char* data, size_t size, TextScanner* scanner, EventBatch& out) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Time parsing (exposed for tests and the config).
// RFC 3339: "2026-11-28T10:15:00Z", any fraction digits, 'Z'/'z' or ±hh:mm,
// 'T', 't' or ' ' as separator. Returns false if not valid.
bool parse_rfc3339_ms(std::string_view s, int64_t& out_ms) noexcept;
// Epoch number: seconds (|v| < 1e11) or milliseconds, fractions allowed.
bool epoch_to_ms(double v, int64_t& out_ms) noexcept;

}  // namespace ds
