// Helpers shared by the libFuzzer targets in fuzz/. Not part of the product.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/chunk.hpp"

namespace ds::fuzz {

// A libFuzzer finding: print and abort (libFuzzer saves the input as a crasher).
[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", file, line, what);
  std::abort();
}
#define DS_FUZZ_CHECK(cond) \
  do {                      \
    if (!(cond)) ::ds::fuzz::fail(#cond, __FILE__, __LINE__); \
  } while (0)

// The input copied into an exact-size heap block followed by exactly
// kChunkPadding bytes (what the framer guarantees after a chunk): ASan then
// flags any read past the padding the parser is allowed to use. The padding
// holds `fill` so code that wrongly relies on zeroed padding is noticed too.
inline std::vector<char> padded_copy(const uint8_t* data, size_t size, char fill = 0) {
  std::vector<char> buf(size + kChunkPadding, fill);
  if (size > 0) std::memcpy(buf.data(), data, size);
  buf.shrink_to_fit();
  return buf;
}

// Turns off the on-disk Hyperscan database cache (db_cache.hpp): fuzzing must
// not write into ~/.cache, and a cached database would hide the compile path.
inline void disable_db_cache() { setenv("DISTILLSCAN_CACHE_DIR", "off", 1); }

}  // namespace ds::fuzz
