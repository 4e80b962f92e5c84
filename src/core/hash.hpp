// Fast non-cryptographic 64-bit hashing for ids and text fingerprints.
// Stable across runs and machines (alert ids and checkpoints depend on it):
// never change the constants without bumping the state-file version.
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ds {

inline constexpr uint64_t kHashSeed = 0x9E3779B97F4A7C15ull;

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return x;
}

namespace hash_detail {
// hash_bytes is a serial chain over 8-byte words: chain_start, chain_step per
// word, chain_end over the 0..7 bytes left. The pieces are public so that a
// caller can run several chains in one loop (text_fingerprint.cpp).
inline uint64_t chain_start(size_t len, uint64_t seed = kHashSeed) { return seed ^ (len * 0xFF51AFD7ED558CCDull); }
inline uint64_t chain_step(uint64_t h, const unsigned char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return mix64(h ^ w) + 0x2545F4914F6CDD1Dull;
}
inline uint64_t chain_end(uint64_t h, const unsigned char* p, size_t left) {
  uint64_t tail = 0;
  for (size_t i = 0; i < left; ++i) tail |= uint64_t(p[i]) << (8 * i);
  h = mix64(h ^ tail ^ 0x165667B19E3779F9ull);
  return h == 0 ? 1 : h;  // 0 is reserved for "absent"
}
// The chain over every word of [p, p + len), from state `h`.
inline uint64_t chain_words(uint64_t h, const unsigned char* p, size_t len) {
  for (; len >= 8; p += 8, len -= 8) h = chain_step(h, p);
  return chain_end(h, p, len);
}
}  // namespace hash_detail

inline uint64_t hash_bytes(const void* data, size_t len, uint64_t seed = kHashSeed) {
  return hash_detail::chain_words(hash_detail::chain_start(len, seed), static_cast<const unsigned char*>(data), len);
}

inline uint64_t hash_str(std::string_view s, uint64_t seed = kHashSeed) {
  return hash_bytes(s.data(), s.size(), seed);
}

inline uint64_t hash_combine(uint64_t a, uint64_t b) { return mix64(a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2))); }

}  // namespace ds
