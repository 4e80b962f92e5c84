// Text fingerprints for the Event: a normaliser that folds trivial variation
// (ASCII case, digit runs, whitespace runs) and hashes over its output, so
// templated prompts ("Q17: ...", "Q18: ...") collide on purpose. This runs on
// every line, so both steps are tuned (SSE2 fast path for plain prose, bit-
// sliced SimHash counters). The normaliser writes into a buffer it owns and
// reuses: no allocation per line once the buffer has grown. Never change the
// hash definitions silently: alert ids and detector state depend on them.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

namespace ds {

inline constexpr size_t kPromptEdgeBytes = 128;   // prefix/suffix hash span
inline constexpr size_t kSimHashMaxBytes = 4096;  // SimHash looks at most at this much text

// Normalised text: ASCII lowercase, each run of ASCII digits -> "0", each run
// of ASCII whitespace -> one space, trimmed. Texts added one after another are
// joined as if separated by whitespace. Other bytes (UTF-8) pass unchanged.
class TextNormalizer {
 public:
  void clear() {
    size_ = 0;
    last_space_ = false;
  }
  void add(std::string_view text);
  std::string_view text() const { return {buf_.get(), size_}; }

 private:
  void reserve(size_t n);

  std::unique_ptr<char[]> buf_;
  size_t size_ = 0;
  size_t capacity_ = 0;
  bool last_space_ = false;  // the output ends in ' ' (only inside add())
};

struct PromptFingerprint {
  uint64_t prefix = 0;  // hash_str of the first kPromptEdgeBytes bytes
  uint64_t suffix = 0;  // hash_str of the last kPromptEdgeBytes bytes
  uint64_t whole = 0;   // hash_str of the whole text
  uint64_t simhash = 0;
};

// All zero for an empty text (absent).
PromptFingerprint fingerprint_normalized(std::string_view normalized);

// 64-bit SimHash of a normalised text: over the first kSimHashMaxBytes bytes,
// each word 3-shingle (the whole text if it has fewer than three words) is
// hashed from its word hashes; bit b is set when more than half of the
// shingle hashes have bit b set. 0 only for the empty text.
uint64_t simhash_normalized(std::string_view normalized);

}  // namespace ds
