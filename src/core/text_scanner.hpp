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
};

}  // namespace ds
