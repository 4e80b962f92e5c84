// The per-event paths avoid divisions (IntervalOf for event-time buckets,
// FastMod for shard routing); both must answer exactly what the division did,
// or state would land in other buckets and shards than before (checkpoints
// and alerts depend on both).
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/fast_mod.hpp"
#include "detect/account_state.hpp"

TEST_CASE("IntervalOf equals floor_div for streams of times", "[detect][division_free]") {
  std::mt19937_64 rng(7);
  const std::vector<int64_t> widths = {1, 7, 1000, 300000, 43200000, 86400000, int64_t{1} << 40};
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  for (int64_t w : widths) {
    ds::IntervalOf of(w);
    int64_t t = 1700000000000;
    for (int i = 0; i < 200000; ++i) {
      switch (rng() % 8) {
        case 0: t = static_cast<int64_t>(rng()); break;                        // anywhere
        case 1: t = (rng() & 1) ? kMin + static_cast<int64_t>(rng() % 5000)    // the ends of the range
                                : kMax - static_cast<int64_t>(rng() % 5000); break;
        case 2: t = -static_cast<int64_t>(rng() % 100000000); break;           // before 1970
        case 3: {                                                              // on an interval edge
          const int64_t edge = (t / w) * w;
          t = (rng() & 1) || edge == kMin ? edge : edge - 1;
          break;
        }
        default:                                                               // mostly forward, some back
          if (t > kMax - 2000 || t < kMin + 1000) t = 0;
          t += static_cast<int64_t>(rng() % 2000) - 500;
          break;
      }
      INFO("width " << w << " time " << t);
      REQUIRE(of(t) == ds::floor_div(t, w));
    }
  }
}

TEST_CASE("FastMod equals % for every divisor shape", "[detect][division_free]") {
  std::mt19937_64 rng(11);
  std::vector<uint32_t> divisors = {1, 2, 3, 4, 5, 7, 64, 1000, 1023, 1024, 65537, 0x7FFFFFFFu, 0xFFFFFFFEu, 0xFFFFFFFFu};
  for (int i = 0; i < 50; ++i) divisors.push_back(static_cast<uint32_t>(rng()) | 1u);
  for (uint32_t d : divisors) {
    const ds::FastMod mod(d);
    for (uint32_t a : {0u, 1u, d - 1, d, d + 1, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu}) {
      INFO("a " << a << " d " << d);
      REQUIRE(mod(a) == a % d);
    }
    for (int k = 0; k < 20000; ++k) {
      const uint32_t a = static_cast<uint32_t>(rng());
      INFO("a " << a << " d " << d);
      REQUIRE(mod(a) == a % d);
    }
  }
}
