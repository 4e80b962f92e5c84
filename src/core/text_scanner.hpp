// TextScanner: the seam between parsing and matching. The parse stage hands
// each extracted text (with the field it came from) to a scanner, which sets
// rule and category bits. Implemented by match/RuleScanner; parse/ never sees
// Hyperscan. Implementations must not throw or allocate.
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
  // others without calling scan().
  virtual uint32_t fields() const noexcept { return ~0u; }
};

}  // namespace ds
