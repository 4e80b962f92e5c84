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

inline uint64_t hash_bytes(const void* data, size_t len, uint64_t seed = kHashSeed) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = seed ^ (len * 0xFF51AFD7ED558CCDull);
  while (len >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix64(h ^ w) + 0x2545F4914F6CDD1Dull;
    p += 8;
    len -= 8;
  }
  uint64_t tail = 0;
  for (size_t i = 0; i < len; ++i) tail |= uint64_t(p[i]) << (8 * i);
  h = mix64(h ^ tail ^ 0x165667B19E3779F9ull);
  return h == 0 ? 1 : h;  // 0 is reserved for "absent"
}

inline uint64_t hash_str(std::string_view s, uint64_t seed = kHashSeed) {
  return hash_bytes(s.data(), s.size(), seed);
}

inline uint64_t hash_combine(uint64_t a, uint64_t b) { return mix64(a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2))); }

}  // namespace ds
