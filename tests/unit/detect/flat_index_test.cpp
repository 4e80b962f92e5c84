#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>

#include "core/hash.hpp"
#include "detect/flat_index.hpp"

using ds::FlatIndex;

TEST_CASE("FlatIndex agrees with unordered_map under random insert/erase", "[detect][flat_index]") {
  FlatIndex idx(1000);
  std::unordered_map<uint64_t, uint32_t> ref;
  std::mt19937_64 rng(42);
  for (int step = 0; step < 200000; ++step) {
    // Small key space with colliding low bits to exercise probe runs and wrap-around.
    uint64_t key = ((rng() % 3000) << 11) | 1;
    bool present = ref.count(key) != 0;
    if (!present && ref.size() < 1000 && (rng() & 1)) {
      idx.insert(key, static_cast<uint32_t>(step));
      ref[key] = static_cast<uint32_t>(step);
    } else if (present && (rng() % 3 == 0)) {
      idx.erase(key);
      ref.erase(key);
    }
    if (step % 997 == 0) {
      for (const auto& [k, v] : ref) REQUIRE(idx.find(k) == v);
    }
    REQUIRE(idx.size() == ref.size());
  }
  for (uint64_t k = 1; k < 3000; ++k) {
    uint64_t key = (k << 11) | 1;
    auto it = ref.find(key);
    REQUIRE(idx.find(key) == (it == ref.end() ? FlatIndex::kNone : it->second));
  }
}

TEST_CASE("FlatIndex grows on demand: a huge cap costs nothing until used", "[detect][flat_index]") {
  FlatIndex idx(1'000'000'000);  // limits.max_accounts: 1e9 used to allocate 24 GB up front
  REQUIRE(idx.memory_bytes() <= 1024);
  for (uint64_t i = 1; i <= 100000; ++i) idx.insert(ds::mix64(i) | 1, static_cast<uint32_t>(i));
  REQUIRE(idx.size() == 100000);
  REQUIRE(idx.capacity() >= 200000);
  REQUIRE(idx.capacity() <= 524288);  // load factor stays in (0.25, 0.5]
  for (uint64_t i = 1; i <= 100000; ++i) REQUIRE(idx.find(ds::mix64(i) | 1) == i);
  const auto grown = idx.memory_bytes();
  for (uint64_t i = 1; i <= 50000; ++i) idx.erase(ds::mix64(i) | 1);
  for (uint64_t i = 1; i <= 50000; ++i) idx.insert(ds::mix64(i) | 1, 7);
  REQUIRE(idx.memory_bytes() == grown);  // a steady working set allocates nothing more
}
