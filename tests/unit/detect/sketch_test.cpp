#include <catch2/catch.hpp>

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
