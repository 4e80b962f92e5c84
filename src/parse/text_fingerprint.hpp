// Text fingerprints for the Event: a normaliser that folds trivial variation
// (ASCII case, digit runs, whitespace runs) and hashes over its output, so
// templated prompts ("Q17: ...", "Q18: ...") collide on purpose. This runs on
// every line, so the normaliser has an SSE2 fast path for plain prose. (A
// word-shingle SimHash used to be computed here too; no detector read it and
// it cost about 14% of a worker's instructions, so it went.) The normaliser
// writes into a buffer it owns and reuses: no allocation per line once the
// buffer has grown. Never change the hash definitions silently: alert ids and
// detector state depend on them.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

namespace ds {

inline constexpr size_t kPromptEdgeBytes = 128;   // prefix/suffix hash span

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
};

// All zero for an empty text (absent).
PromptFingerprint fingerprint_normalized(std::string_view normalized);


}  // namespace ds
