#include <catch2/catch.hpp>

#include <cmath>
#include <type_traits>

#include "core/hash.hpp"
#include "detect/sketch.hpp"

using namespace ds;

TEST_CASE("HyperLogLog estimates small and large cardinalities", "[detect][sketch]") {
  STATIC_REQUIRE(std::is_trivially_copyable_v<Hll<6>>);
  STATIC_REQUIRE(sizeof(Hll<6>) == 64);
  STATIC_REQUIRE(sizeof(Hll<4>) == 16);
  Hll<6> h;
  REQUIRE(h.estimate() == Approx(0).margin(1e-9));
  for (int rep = 0; rep < 5; ++rep) h.add(hash_str("same"));
  REQUIRE(h.estimate() == Approx(1).epsilon(0.05));
  Hll<6> small;
  for (int i = 0; i < 10; ++i) small.add(hash_combine(1, i));
  REQUIRE(small.estimate() == Approx(10).epsilon(0.2));
  Hll<6> big;
  for (int i = 0; i < 20000; ++i) big.add(hash_combine(2, i));
  REQUIRE(big.estimate() == Approx(20000).epsilon(0.4));  // ~13% std error at P=6
  h.add(0);  // 0 = absent: ignored
  REQUIRE(h.estimate() == Approx(1).epsilon(0.05));
}

TEST_CASE("HyperLogLog merge is the union", "[detect][sketch]") {
  Hll<6> a, b, u;
  for (int i = 0; i < 30; ++i) a.add(hash_combine(3, i));
  for (int i = 20; i < 50; ++i) b.add(hash_combine(3, i));
  for (int i = 0; i < 50; ++i) u.add(hash_combine(3, i));
  a.merge(b);
  REQUIRE(a.reg == u.reg);
  a.clear();
  REQUIRE(a.estimate() == Approx(0).margin(1e-9));
}

// estimate() builds 2^-reg from the exponent bits instead of calling ldexp:
// the sum, and so every estimate, must be bit-identical to the textbook form.
TEST_CASE("HyperLogLog estimate equals the ldexp formula bit for bit", "[detect][sketch]") {
  auto reference = [](const auto& h) {
    using H = std::decay_t<decltype(h)>;
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < H::kRegs; ++i) {
      sum += std::ldexp(1.0, -static_cast<int>(h.reg[i]));
      zeros += h.reg[i] == 0;
    }
    const double m = H::kRegs;
    const double alpha = H::kRegs == 16 ? 0.673 : H::kRegs == 32 ? 0.697 : H::kRegs == 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * std::log(m / zeros);
    return e;
  };
  uint64_t x = 1;
  for (int round = 0; round < 2000; ++round) {
    ds::Hll<4> a;
    ds::Hll<6> b;
    const int n = round % 3 == 0 ? round : round % 50;
    for (int i = 0; i < n; ++i) {
      x = ds::mix64(x + 0x9E3779B97F4A7C15ull);
      a.add(x);
      b.add(x);
    }
    if (round % 7 == 0) b.reg[static_cast<size_t>(round) % 64] = static_cast<uint8_t>(65 - 6);  // the largest rank
    CHECK(a.estimate() == reference(a));
    CHECK(b.estimate() == reference(b));
  }
}
