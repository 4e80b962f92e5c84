// KeyedTextHash: a polynomial hash over GF(2^61 - 1) at a secret random
// point, for caches whose hits hand out results computed for another text.
//
// A text of n bytes is cut into 7-byte little-endian chunks c_1..c_k (the
// last one zero-padded; chunks are < 2^56 < p) and hashed as
// n r^k + sum c_i r^(k-i) mod p, p = 2^61 - 1, r drawn from
// std::random_device when the object is made. Two different texts give
// different coefficient sequences (the length leads, and for one length
// the chunks are injective), so their difference is a non-zero polynomial
// of degree at most k: they collide for at most k of the p - 1 possible r,
// whatever texts a sender crafts, as long as r stays secret (it never
// leaves the process). Per lookup that is k / (p - 1), under 2^-44 for a
// 512 KiB text; a sender gets no birthday effect (each lookup compares one
// slot, and a miss tells it nothing), only that chance per try. Fast
// hashes with public or seed-only keys (the caches' lookup_key before it,
// see tests/unit/match/rule_set_test.cpp) have collisions that can be built
// offline.
//
// Eight chunks (56 bytes) per step: h = h r^8 + c_1 r^7 + ... + c_8, the
// products summed in 128 bits and folded once; the last 1-8 chunks likewise.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>

namespace ds {

class KeyedTextHash {
  __extension__ typedef unsigned __int128 u128;  // GCC and Clang; -Wpedantic knows no 128-bit type


 public:
  static constexpr uint64_t kPrime = (uint64_t{1} << 61) - 1;

  KeyedTextHash() : KeyedTextHash(random_point()) {}
  explicit KeyedTextHash(uint64_t r) {  // r in [1, p): tests pick it
    pow_[0] = 1;
    for (int i = 1; i <= 8; ++i) pow_[i] = mul(pow_[i - 1], r);
  }

  // In [0, p).
  uint64_t operator()(std::string_view text) const noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const size_t size = text.size();
    size_t at = 0;
    uint64_t h = size;  // the leading coefficient (< 2^62 between steps)
    for (; size - at >= 8 * 7 + 1; at += 56) {  // 8 chunks, each read as 8 bytes (the 8th masked off)
      const unsigned char* q = p + at;
      // Pairwise sums: only the last add and the fold wait for h.
      const u128 s01 = mul_wide(chunk8(q), pow_[7]) + mul_wide(chunk8(q + 7), pow_[6]);
      const u128 s23 = mul_wide(chunk8(q + 14), pow_[5]) + mul_wide(chunk8(q + 21), pow_[4]);
      const u128 s45 = mul_wide(chunk8(q + 28), pow_[3]) + mul_wide(chunk8(q + 35), pow_[2]);
      const u128 s67 = mul_wide(chunk8(q + 42), pow_[1]) + chunk8(q + 49);
      h = fold(((s01 + s23) + (s45 + s67)) + mul_wide(h, pow_[8]));
    }
    if (at < size) {  // the last 1-8 chunks in one step; the last one may be short
      const size_t m = (size - at + 6) / 7;
      u128 acc = mul_wide(h, pow_[m]);
      for (size_t i = 0; i < m; ++i, at += 7) {
        uint64_t c = 0;
        if (size - at >= 8) {
          c = chunk8(p + at);
        } else {
          std::memcpy(&c, p + at, std::min<size_t>(size - at, 7));  // little-endian
        }
        acc += mul_wide(c, pow_[m - 1 - i]);
      }
      h = fold(acc);
    }
    return h >= kPrime ? h - kPrime : h;
  }

 private:
  static u128 mul_wide(uint64_t a, uint64_t b) noexcept { return static_cast<u128>(a) * b; }
  static uint64_t chunk8(const unsigned char* p) noexcept {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w & ((uint64_t{1} << 56) - 1);
  }
  // x < 2^125 -> a value < 2^62 congruent to x mod p.
  static uint64_t fold(u128 x) noexcept {
    const uint64_t lo = static_cast<uint64_t>(x) & kPrime;
    const uint64_t hi = static_cast<uint64_t>(x >> 61);  // < 2^64
    const uint64_t s = (hi & kPrime) + (hi >> 61) + lo;  // < 2^62 + 8
    return (s & kPrime) + (s >> 61);
  }
  static uint64_t mul(uint64_t a, uint64_t b) noexcept {
    uint64_t x = fold(static_cast<u128>(a) * b);
    return x >= kPrime ? x - kPrime : x;
  }
  static uint64_t random_point() {
    std::random_device rd;
    for (;;) {
      const uint64_t r = ((uint64_t{rd()} << 32) | rd()) & kPrime;
      if (r != 0 && r != kPrime) return r;
    }
  }
  uint64_t pow_[9];
};

}  // namespace ds
