// Text fingerprints for the Event: a normaliser that folds trivial variation
// (ASCII case, digit runs, whitespace runs) and hashes over its output, so
// templated prompts ("Q17: ...", "Q18: ...") collide on purpose, plus a
// one-permutation MinHash over word shingles, so near-duplicates (one
// template with a different topic filled in) share a key with a probability
// equal to their shingle-set Jaccard similarity. This runs on every line, so
// the normaliser has an SSE2 fast path for plain prose and the MinHash costs
// one hash per word. (A 64-bit SimHash over word shingles used to be computed
// here; it touched 64 counters per shingle and cost about 14% of a worker's
// instructions, and no detector read it, so it went.) The normaliser
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
  uint64_t near = 0;    // MinHash key: near_duplicate_key() of the text
};

// Shingles for the MinHash: at the text's start and at each word start (a
// byte after a ' ' of the normalised text) whose first byte is odd, within
// the first kShingleSpan bytes, the next kShingleBytes bytes (zero-padded at
// the end of the text or span), so a shingle is a word plus the start of the
// words after it. Sampling words by their first byte halves the hashing and
// keeps the estimate unbiased: both texts sample a common shingle alike. The key is the
// smallest shingle hash, re-mixed: two texts get the same key with
// probability |A ∩ B| / |A ∪ B| over their shingle sets. Never 0 for a
// non-empty text; 0 for an empty one.
inline constexpr size_t kShingleBytes = 16;
inline constexpr size_t kShingleSpan = 2048;  // only the first 2 KiB of the text are shingled
uint64_t near_duplicate_key(std::string_view normalized);

// All zero for an empty text (absent).
PromptFingerprint fingerprint_normalized(std::string_view normalized);


}  // namespace ds
