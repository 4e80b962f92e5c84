#include "parse/text_fingerprint.hpp"

#include <array>
#include <bit>
#include <cstring>

#include "core/hash.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ds {

namespace {

// ---------------------------------------------------------------------------
// Normaliser tables

enum : uint8_t { kPlain = 0, kSpace = 1, kDigit = 2 };

struct Tables {
  std::array<uint8_t, 256> cls{};
  std::array<char, 256> lower{};
};

constexpr Tables make_tables() {
  Tables t{};
  for (int c = 0; c < 256; ++c) t.lower[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  for (int c = '0'; c <= '9'; ++c) t.cls[c] = kDigit;
  for (char c : {' ', '\t', '\n', '\r', '\f', '\v'}) t.cls[static_cast<unsigned char>(c)] = kSpace;
  return t;
}
constexpr Tables kTables = make_tables();

// Bytes the SSE2 path may write past the logical end of the output.
constexpr size_t kSlack = 16;

// ---------------------------------------------------------------------------
// SimHash helpers

uint64_t rotl(uint64_t x, unsigned r) {
  return (x << r) | (x >> (64 - r));
}

uint64_t load8(const char* p) {  // little-endian on every host, like load_bytes
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}
uint64_t low_bytes(uint64_t w, size_t n) {
  return n >= 8 ? w : w & ((uint64_t{1} << (8 * n)) - 1);
}

uint64_t load_bytes(const char* p, size_t n) {  // n <= 8, little-endian
  uint64_t w = 0;
  for (size_t i = 0; i < n; ++i) w |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return w;
}

uint64_t word_hash_finish(uint64_t h, uint64_t a, uint64_t b) {
  h ^= a * 0x9E3779B97F4A7C15ull ^ b * 0xC2B2AE3D27D4EB4Full;
  return h ^ (h >> 31);
}

// The word_hash cases off the fast path: long words, and words too close to
// the end of the readable bytes for 16-byte loads. Same values as the fast path.
[[gnu::noinline]] uint64_t word_hash_slow(const char* p, size_t n) {
  uint64_t h = kHashSeed ^ (n * 0xFF51AFD7ED558CCDull);
  if (n > 16) {
    while (n >= 8) {
      h = mix64(h ^ load8(p)) + 0x2545F4914F6CDD1Dull;
      p += 8;
      n -= 8;
    }
    return mix64(h ^ load_bytes(p, n));
  }
  return word_hash_finish(h, load_bytes(p, n < 8 ? n : 8), n > 8 ? load_bytes(p + 8, n - 8) : 0);
}

// Hash of one word [p, p+n). Words of up to 16 bytes (nearly all) take two
// masked loads and no branch; `end` bounds what may be read past the word
// (the value never depends on it).
inline uint64_t word_hash(const char* p, size_t n, const char* end) {
  if (n > 16 || end - p < 16) [[unlikely]]
    return word_hash_slow(p, n);
  uint64_t h = kHashSeed ^ (n * 0xFF51AFD7ED558CCDull);
  uint64_t a = low_bytes(load8(p), n);
  uint64_t b = n > 8 ? low_bytes(load8(p + 8), n - 8) : 0;
  return word_hash_finish(h, a, b);
}

// Shingle hash from its three word hashes: one multiply and a fold is enough
// on top of the word hashes, and keeps every bit near 1/2.
inline uint64_t shingle_hash(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t x = (a ^ rotl(b, 21) ^ rotl(c, 42)) * 0xD6E8FEB86659FD93ull;
  return x ^ (x >> 32);
}

// Per-bit counts of many 64-bit words, bit-sliced: slice i holds bit i of all
// 64 counts. Words are added sixteen at a time through a carry-save adder tree
// (Harley-Seal), about five operations per word.
class BitCounts {
 public:
  void add16(const uint64_t* d) {
    uint64_t twos_a, twos_b, fours_a, fours_b, eights_a, eights_b, sixteens;
    csa(twos_a, ones_, ones_, d[0], d[1]);
    csa(twos_b, ones_, ones_, d[2], d[3]);
    csa(fours_a, twos_, twos_, twos_a, twos_b);
    csa(twos_a, ones_, ones_, d[4], d[5]);
    csa(twos_b, ones_, ones_, d[6], d[7]);
    csa(fours_b, twos_, twos_, twos_a, twos_b);
    csa(eights_a, fours_, fours_, fours_a, fours_b);
    csa(twos_a, ones_, ones_, d[8], d[9]);
    csa(twos_b, ones_, ones_, d[10], d[11]);
    csa(fours_a, twos_, twos_, twos_a, twos_b);
    csa(twos_a, ones_, ones_, d[12], d[13]);
    csa(twos_b, ones_, ones_, d[14], d[15]);
    csa(fours_b, twos_, twos_, twos_a, twos_b);
    csa(eights_b, fours_, fours_, fours_a, fours_b);
    csa(sixteens, eights_, eights_, eights_a, eights_b);
    carry_into_high(sixteens);
    total_ += 16;
  }
  void add(uint64_t w) {  // one word: a ripple-carry add through the slices
    ++total_;
    uint64_t* low[4] = {&ones_, &twos_, &fours_, &eights_};
    for (uint64_t* s : low) {
      uint64_t c = *s & w;
      *s ^= w;
      w = c;
    }
    carry_into_high(w);
  }
  // Bit b set where count[b] * 2 > total, i.e. count[b] > total / 2: a
  // bit-sliced comparison of all 64 counts at once, from the top bit down.
  uint64_t majority() const {
    const uint32_t t = total_ / 2;
    uint64_t gt = 0, eq = ~uint64_t{0};
    auto step = [&](uint64_t slice, unsigned bit) {
      if ((t >> bit) & 1u) {
        eq &= slice;
      } else {
        gt |= eq & slice;
        eq &= ~slice;
      }
    };
    for (size_t i = high_.size(); i-- > 0;) step(high_[i], static_cast<unsigned>(i + 4));
    step(eights_, 3);
    step(fours_, 2);
    step(twos_, 1);
    step(ones_, 0);
    return gt;
  }

 private:
  static void csa(uint64_t& h, uint64_t& l, uint64_t a, uint64_t b, uint64_t c) {
    uint64_t u = a ^ b;
    h = (a & b) | (u & c);
    l = u ^ c;
  }
  void carry_into_high(uint64_t w) {
    for (auto& s : high_) {
      if (w == 0) return;
      uint64_t c = s & w;
      s ^= w;
      w = c;
    }
  }
  uint64_t ones_ = 0, twos_ = 0, fours_ = 0, eights_ = 0;  // count bits 0..3
  std::array<uint64_t, 12> high_{};                        // count bits 4..15
  uint32_t total_ = 0;
};

// 16-bit population count without relying on a POPCNT instruction.
inline size_t popcount16(uint32_t m) {
  m = m - ((m >> 1) & 0x5555u);
  m = (m & 0x3333u) + ((m >> 2) & 0x3333u);
  m = (m + (m >> 4)) & 0x0F0Fu;
  return (m + (m >> 8)) & 0x1Fu;
}

// Bit i set where p[i] == ' ' (16 bytes from p, of which `valid` are text).
inline uint32_t space_mask(const char* p, size_t valid) {
  char tmp[16];
  if (valid < 16) {
    std::memset(tmp, 0, sizeof(tmp));
    std::memcpy(tmp, p, valid);
    p = tmp;
  }
#if defined(__SSE2__)
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' '))));
#else
  uint32_t m = 0;
  for (unsigned i = 0; i < 16; ++i) m |= uint32_t{p[i] == ' '} << i;
  return m;
#endif
}

// Upper bound of words in kSimHashMaxBytes of normalised text (single spaces).
constexpr size_t kMaxWords = kSimHashMaxBytes / 2 + 2;

}  // namespace

// ---------------------------------------------------------------------------
// TextNormalizer

void TextNormalizer::reserve(size_t n) {
  if (n + kSlack <= capacity_) return;
  size_t cap = capacity_ * 2 > n + kSlack ? capacity_ * 2 : n + kSlack;
  std::unique_ptr<char[]> fresh(new char[cap]);
  if (size_ != 0) std::memcpy(fresh.get(), buf_.get(), size_);
  buf_ = std::move(fresh);
  capacity_ = cap;
}

// Spaces are written eagerly (at most one in a row, never first) and a
// trailing one is dropped at the end, so plain prose can be copied in 16-byte
// blocks: a block without digits, without whitespace other than ' ' and
// without two spaces in a row normalises to itself, lowercased.
void TextNormalizer::add(std::string_view text) {
  reserve(size_ + text.size() + 1);
  char* const base = buf_.get();
  char* out = base + size_;
  if (out != base && !last_space_) {  // a boundary between texts counts as whitespace
    *out++ = ' ';
    last_space_ = true;
  }
  bool in_digits = false;
  const char* p = text.data();
  const char* const end = p + text.size();

  auto scalar = [&](const char* stop) {
    for (; p < stop; ++p) {
      auto c = static_cast<unsigned char>(*p);
      uint8_t cls = kTables.cls[c];
      if (cls == kSpace) {
        if (out != base && !last_space_) {
          *out++ = ' ';
          last_space_ = true;
        }
        in_digits = false;
      } else if (cls == kDigit) {
        if (!in_digits) *out++ = '0';
        in_digits = true;
        last_space_ = false;
      } else {
        *out++ = kTables.lower[c];
        in_digits = false;
        last_space_ = false;
      }
    }
  };

#if defined(__SSE2__)
  const __m128i k9 = _mm_set1_epi8(9), k4 = _mm_set1_epi8(4), k0 = _mm_set1_epi8('0');
  const __m128i kNine = _mm_set1_epi8(9), kA = _mm_set1_epi8('A'), k25 = _mm_set1_epi8(25);
  const __m128i kSp = _mm_set1_epi8(' '), k20 = _mm_set1_epi8(0x20);
  auto in_range = [](__m128i v, __m128i lo, __m128i span) {  // lo <= v <= lo + span, unsigned
    __m128i t = _mm_sub_epi8(v, lo);
    return _mm_cmpeq_epi8(_mm_min_epu8(t, span), t);
  };
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i other_ws = in_range(v, k9, k4);  // \t \n \v \f \r
    __m128i digit = in_range(v, k0, kNine);
    auto spaces = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, kSp)));
    auto bad = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(other_ws, digit)));
    unsigned before = (spaces << 1) | ((out == base || last_space_) ? 1u : 0u);
    unsigned stop = (bad | (spaces & before)) & 0xFFFFu;
    __m128i upper = in_range(v, kA, k25);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_or_si128(v, _mm_and_si128(upper, k20)));
    if (stop == 0) {  // the whole block normalises to itself, lowercased
      out += 16;
      p += 16;
      last_space_ = (spaces >> 15) != 0;
      in_digits = false;
      continue;
    }
    // Keep the good prefix, then let the scalar code take the first byte
    // that needs it (a digit, other whitespace, or a repeated space).
    auto i = static_cast<unsigned>(__builtin_ctz(stop));
    if (i > 0) {
      out += i;
      p += i;
      last_space_ = ((spaces >> (i - 1)) & 1u) != 0;
      in_digits = false;
    }
    scalar(p + 1);
  }
#endif
  scalar(end);
  if (last_space_) {
    --out;
    last_space_ = false;
  }
  size_ = static_cast<size_t>(out - base);
}

// ---------------------------------------------------------------------------
// Fingerprints

uint64_t simhash_normalized(std::string_view s) {
  const char* const readable_end = s.data() + s.size();
  if (s.size() > kSimHashMaxBytes) s = s.substr(0, kSimHashMaxBytes);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);  // a cut may end on a space
  if (s.empty()) return 0;
  const char* const text = s.data();
  const size_t n = s.size();

  // Pass 1: word ends (spaces, then the end of the text), four at a time
  // without a data-dependent branch in the common case.
  uint32_t ends[kMaxWords + 8];
  size_t words = 0;
  for (size_t block = 0; block < n; block += 16) {
    size_t valid = n - block < 16 ? n - block : 16;
    uint32_t m = space_mask(text + block, valid);
    if (block + 16 >= n) m |= uint32_t{1} << valid;
    size_t count = popcount16(m & 0xFFFFu) + (m >> 16);
    auto base = static_cast<uint32_t>(block);
    for (size_t k = 0; k < 4; ++k) {
      ends[words + k] = base + static_cast<uint32_t>(__builtin_ctz(m | 0x20000u));
      m &= m - 1;
    }
    for (size_t k = 4; k < count; ++k) {  // blocks of very short words
      ends[words + k] = base + static_cast<uint32_t>(__builtin_ctz(m));
      m &= m - 1;
    }
    words += count;
  }
  if (words < 3) {
    BitCounts one;
    one.add(hash_str(s));
    return one.majority();
  }

  // Pass 2: shingle hashes from word hashes; counted per bit sixteen at a time.
  BitCounts counts;
  uint64_t batch[16];
  size_t in_batch = 0;
  uint64_t w0 = word_hash(text, ends[0], readable_end);
  uint64_t w1 = word_hash(text + ends[0] + 1, ends[1] - ends[0] - 1, readable_end);
  for (size_t i = 2; i < words; ++i) {
    size_t start = ends[i - 1] + 1;
    uint64_t w2 = word_hash(text + start, ends[i] - start, readable_end);
    batch[in_batch++] = shingle_hash(w0, w1, w2);
    if (in_batch == 16) {
      counts.add16(batch);
      in_batch = 0;
    }
    w0 = w1;
    w1 = w2;
  }
  for (size_t i = 0; i < in_batch; ++i) counts.add(batch[i]);
  uint64_t out = counts.majority();
  return out == 0 ? 1 : out;  // 0 means absent
}

PromptFingerprint fingerprint_normalized(std::string_view s) {
  PromptFingerprint fp;
  if (s.empty()) return fp;
  size_t edge = s.size() < kPromptEdgeBytes ? s.size() : kPromptEdgeBytes;
  fp.prefix = hash_str(s.substr(0, edge));
  fp.suffix = hash_str(s.substr(s.size() - edge));
  fp.whole = hash_str(s);
  fp.simhash = simhash_normalized(s);
  return fp;
}

}  // namespace ds
