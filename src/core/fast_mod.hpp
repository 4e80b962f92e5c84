// FastMod: a % d for 32-bit a and a divisor d fixed up front, by two
// multiplications instead of a division (Lemire, Kaser, Kurz 2019, "Faster
// remainder by direct computation"; exact for every 32-bit a and d >= 1).
// For per-event routing, where a 64-bit division was a visible cost.
#pragma once
#include <cstdint>

namespace ds {

class FastMod {
 public:
  explicit FastMod(uint32_t d = 1) : d_(d == 0 ? 1 : d), magic_(UINT64_MAX / d_ + 1) {}  // magic 0 for d == 1
  uint32_t operator()(uint32_t a) const {
    __extension__ typedef unsigned __int128 u128;  // GCC and Clang; -Wpedantic knows no 128-bit type
    const uint64_t low = magic_ * a;
    return static_cast<uint32_t>((static_cast<u128>(low) * d_) >> 64);
  }

 private:
  uint64_t d_;
  uint64_t magic_;
};

}  // namespace ds
