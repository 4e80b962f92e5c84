// TextScanner: the seam between parsing and matching. The parse stage hands
// the non-empty texts of every accepted line (with the field each came from,
// only fields in fields()) to a scanner, which sets the event's rule and
// category bits. It does so in batches, before parse_chunk / parse_line
// returns (parse/line_parser_impl.hpp). Implemented by match/RuleScanner;
// parse/ never sees Hyperscan. Implementations must not throw or allocate.
#pragma once
#include <cstdint>
#include <string_view>

#include "core/event.hpp"

namespace ds {

class TextScanner {
 public:
  virtual ~TextScanner() = default;
  virtual void scan(std::string_view text, TextField field, RuleBits& hits, uint32_t& categories) noexcept = 0;
  // The fields (field_bit) whose texts can set a bit: a caller may skip the
  // others without calling scan(). Read once per parse_chunk / parse_line
  // call: it must not change while a call uses the scanner.
  virtual uint32_t fields() const noexcept { return ~0u; }
};

}  // namespace ds
