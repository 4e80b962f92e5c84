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
// blocks: a block without digits, without two whitespace bytes in a row and
// not starting with whitespace where none may be written (at the start of
// the output, or after a ' ') normalises to itself, lowercased, with each
// whitespace byte made ' '. Otherwise the block's good prefix is kept and
// the run of digits or whitespace after it is taken whole, as far as the
// block goes: one step per run, not one mispredicted branch per byte.
void TextNormalizer::add(std::string_view text) {
  reserve(size_ + text.size() + 1);
  char* const base = buf_.get();
  char* out = base + size_;
  bool in_digits = false;
  // One whitespace byte or run, one digit or run of digits.
  auto on_space = [&] {
    if (out != base && !last_space_) {
      *out++ = ' ';
      last_space_ = true;
    }
    in_digits = false;
  };
  auto on_digit = [&] {
    if (!in_digits) *out++ = '0';
    in_digits = true;
    last_space_ = false;
  };
  on_space();  // a boundary between texts counts as whitespace
  const char* p = text.data();
  const char* const end = p + text.size();

  auto scalar = [&](const char* stop) {
    for (; p < stop; ++p) {
      auto c = static_cast<unsigned char>(*p);
      uint8_t cls = kTables.cls[c];
      if (cls == kSpace) {
        on_space();
      } else if (cls == kDigit) {
        on_digit();
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
    auto ws = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, kSp), other_ws)));
    auto digits = static_cast<unsigned>(_mm_movemask_epi8(digit));
    unsigned before = (ws << 1) | ((out == base || last_space_) ? 1u : 0u);
    unsigned stop = digits | (ws & before);  // both 16-bit masks
    __m128i upper = in_range(v, kA, k25);
    __m128i lowered = _mm_or_si128(v, _mm_and_si128(upper, k20));
    lowered = _mm_or_si128(_mm_andnot_si128(other_ws, lowered), _mm_and_si128(other_ws, kSp));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), lowered);
    if (stop == 0) {  // the whole block normalises to itself, lowercased, whitespace as ' '
      out += 16;
      p += 16;
      last_space_ = (ws >> 15) != 0;
      in_digits = false;
      continue;
    }
    auto i = static_cast<unsigned>(__builtin_ctz(stop));
    if (i > 0) {
      out += i;
      p += i;
      last_space_ = ((ws >> (i - 1)) & 1u) != 0;
      in_digits = false;
    }
    if ((digits >> i) & 1u) {
      on_digit();
      p += __builtin_ctz(~(digits >> i));
    } else {  // whitespace after whitespace (or first)
      on_space();
      p += __builtin_ctz(~(ws >> i));
    }
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

namespace {

// The shingle's 16 bytes as two little-endian words (zero-padded past the
// end of the text). The minimum must behave like that of a random
// permutation, so the words go through a full finaliser: a bare
// multiply-xorshift kept ASCII's structure and made templated texts share
// their key 45% of the time instead of 60% (tests/unit/parse).
inline uint64_t shingle_hash(uint64_t w0, uint64_t w1) { return mix64(w0 ^ (w1 * 0x9E3779B97F4A7C15ull)); }

inline uint64_t load_le(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}

uint64_t shingle_tail(const char* p, size_t left) {  // fewer than kShingleBytes bytes left
  char buf[kShingleBytes] = {};
  std::memcpy(buf, p, left);
  return shingle_hash(load_le(buf), load_le(buf + 8));
}

// The MinHash scan, block by block, so fingerprint_normalized can run it in
// the same loop as the hash chains (below).
class MinHashScan {
 public:
  explicit MinHashScan(std::string_view s)
      : base_(s.data()), n_(s.size() < kShingleSpan ? s.size() : kShingleSpan),
        full_end_(n_ >= kShingleBytes ? n_ - kShingleBytes + 1 : 0) {
    word_at(0);  // the first word always counts, so a one-word text has a key
  }
  size_t span() const { return n_; }
  // Other words count when their first byte is odd (a c e g i k m o q s u w y,
  // among others): a sample chosen by content, so two texts sample their
  // common shingles alike, at half the hashing. Blocks go in order from 0.
  void block16(size_t i) {  // bytes [i, i + 16), i + 16 <= span()
#if defined(__SSE2__)
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base_ + i));
    const auto sp = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' '))));
    const auto odd = static_cast<unsigned>(_mm_movemask_epi8(_mm_slli_epi16(v, 7)));  // bit 0 of each byte
    unsigned m = ((sp << 1) | carry_) & odd & 0xFFFFu;
    carry_ = sp >> 15;
    while (m != 0) {
      word_at(i + static_cast<unsigned>(__builtin_ctz(m)));
      m &= m - 1;
    }
#else
    for (size_t j = i; j < i + 16; ++j) {
      if (carry_ != 0 && (static_cast<unsigned char>(base_[j]) & 1u)) word_at(j);
      carry_ = base_[j] == ' ' ? 1u : 0u;
    }
#endif
  }
  // The bytes from `from` (the end of the last block) on, one at a time.
  uint64_t finish(size_t from) {
    for (size_t j = from > 0 ? from : 1; j < n_; ++j)
      if (base_[j - 1] == ' ' && (static_cast<unsigned char>(base_[j]) & 1u)) word_at(j);
    const uint64_t key = mix64(lo_ + 0x2B992DDFA23249D6ull);
    return key != 0 ? key : 1;
  }

 private:
  void word_at(size_t start) {
    uint64_t h = start < full_end_ ? shingle_hash(load_le(base_ + start), load_le(base_ + start + 8))
                                   : shingle_tail(base_ + start, n_ - start);
    lo_ = h < lo_ ? h : lo_;
  }
  const char* base_;
  size_t n_, full_end_;
  uint64_t lo_ = ~uint64_t{0};
  unsigned carry_ = 0;  // the previous block ended in a space
};

}  // namespace

uint64_t near_duplicate_key(std::string_view s) {
  if (s.empty()) return 0;
  MinHashScan mh(s);
  size_t i = 0;
  for (; i + 16 <= mh.span(); i += 16) mh.block16(i);
  return mh.finish(i);
}

// The same values as hash_str over the prefix, the suffix and the whole text
// and near_duplicate_key, computed in one loop: each hash_str chain is a
// serial run of multiplies, so on their own the three chains and the MinHash
// wait on multiply latency one after another; interleaved, the core overlaps
// them (the whole-text chain sets the pace). tests/unit/parse checks the
// values against the separate functions for every length up to 3 KiB.
PromptFingerprint fingerprint_normalized(std::string_view s) {
  PromptFingerprint fp;
  if (s.empty()) return fp;
  using hash_detail::chain_end, hash_detail::chain_start, hash_detail::chain_step;
  const auto* const p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  const size_t edge = n < kPromptEdgeBytes ? n : kPromptEdgeBytes;
  const unsigned char* const sfx = p + n - edge;
  uint64_t whole = chain_start(n), prefix = chain_start(edge), suffix = prefix;
  MinHashScan mh(s);
  size_t i = 0;  // bytes of the whole-text chain done; a multiple of 16 until the last loop
  // Edges: three chains and the MinHash.
  for (; i + 16 <= edge; i += 16) {
    whole = chain_step(chain_step(whole, p + i), p + i + 8);
    prefix = chain_step(chain_step(prefix, p + i), p + i + 8);
    suffix = chain_step(chain_step(suffix, sfx + i), sfx + i + 8);
    mh.block16(i);
  }
  for (size_t j = i; j + 8 <= edge; j += 8) {
    prefix = chain_step(prefix, p + j);
    suffix = chain_step(suffix, sfx + j);
  }
  fp.prefix = chain_end(prefix, p + (edge & ~size_t{7}), edge & 7);
  fp.suffix = chain_end(suffix, sfx + (edge & ~size_t{7}), edge & 7);
  // The rest of the shingle span: the whole-text chain and the MinHash.
  for (; i + 16 <= mh.span(); i += 16) {
    whole = chain_step(chain_step(whole, p + i), p + i + 8);
    mh.block16(i);
  }
  fp.near = mh.finish(i);
  for (; i + 8 <= n; i += 8) whole = chain_step(whole, p + i);
  fp.whole = chain_end(whole, p + i, n - i);
  return fp;
}

}  // namespace ds
