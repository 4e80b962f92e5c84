// Fixed-size sketches for per-account and per-cluster state. Plain arrays,
// trivially copyable, no allocation: they live inside AccountState (which a
// later checkpoint serialises byte for byte) and inside cluster entries.
#pragma once
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "core/hash.hpp"

namespace ds {

// HyperLogLog with 2^P one-byte registers (P=4: 16 bytes, ~26% std error;
// P=6: 64 bytes, ~13%). Small-range correction (linear counting) makes the
// estimate exact-ish for the small counts that matter here (1..50).
template <unsigned P>
struct Hll {
  static constexpr unsigned kRegs = 1u << P;
  std::array<uint8_t, kRegs> reg{};

  void add(uint64_t h) {
    if (h == 0) return;
    add_mixed(mix(h));
  }
  // add() in two steps, for one value added to several sketches:
  // add(h) is add_mixed(mix(h)) for h != 0 (and nothing for h == 0).
  static uint64_t mix(uint64_t h) {
    return mix64(h ^ 0xA0761D6478BD642Full);  // callers pass raw field hashes; re-mix for independence
  }
  void add_mixed(uint64_t h) {
    const uint32_t idx = static_cast<uint32_t>(h >> (64 - P));
    const uint64_t rest = (h << P) | (uint64_t(1) << (P - 1));  // never all-zero
    const uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
    if (rank > reg[idx]) reg[idx] = rank;
  }
  void merge(const Hll& o) {
    for (unsigned i = 0; i < kRegs; ++i)
      if (o.reg[i] > reg[i]) reg[i] = o.reg[i];
  }
  void clear() { reg.fill(0); }
  double estimate() const {
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < kRegs; ++i) {
      // 2^-reg exactly (reg <= 65 - P): the exponent field, no libm call
      // (ldexp was 9% of the shard thread's instructions).
      sum += std::bit_cast<double>(static_cast<uint64_t>(1023 - reg[i]) << 52);
      zeros += reg[i] == 0;
    }
    const double m = kRegs;
    const double alpha = P == 4 ? 0.673 : P == 5 ? 0.697 : P == 6 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * std::log(m / zeros);
    return e;
  }
};

}  // namespace ds
