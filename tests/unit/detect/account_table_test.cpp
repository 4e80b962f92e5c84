#include <catch2/catch.hpp>

#include <string>

#include "core/hash.hpp"
#include "detect/account_table.hpp"

using ds::AccountTable;

TEST_CASE("AccountTable evicts least recently seen at the cap", "[detect][table]") {
  AccountTable t(3, 4, 1000 * 1000);
  auto touch = [&](const std::string& id, int64_t now) -> ds::AccountState& {
    auto& a = t.touch(ds::hash_str(id), id, now);
    a.last_seen_ms = now;
    return a;
  };
  touch("a", 1);
  touch("b", 2);
  touch("c", 3);
  touch("a", 4);  // a is now most recent; b is least recent
  touch("d", 5);  // evicts b
  REQUIRE(t.size() == 3);
  REQUIRE(t.find(ds::hash_str("b")) == nullptr);
  REQUIRE(t.find(ds::hash_str("a")) != nullptr);
  REQUIRE(t.find(ds::hash_str("d"))->id == "d");
  REQUIRE(t.counters().evicted_lru == 1);
  REQUIRE(t.counters().created == 4);
}

TEST_CASE("AccountTable evicts idle accounts by event time", "[detect][table]") {
  AccountTable t(100, 4, 1000);
  auto& a = t.touch(ds::hash_str("old"), "old", 0);
  a.last_seen_ms = 0;
  auto& b = t.touch(ds::hash_str("fresh"), "fresh", 900);
  b.last_seen_ms = 900;
  // A new account at t=1500 evicts "old" (idle 1500 > 1000), keeps "fresh" (idle 600).
  t.touch(ds::hash_str("new"), "new", 1500).last_seen_ms = 1500;
  REQUIRE(t.find(ds::hash_str("old")) == nullptr);
  REQUIRE(t.find(ds::hash_str("fresh")) != nullptr);
  REQUIRE(t.counters().evicted_idle == 1);
  REQUIRE(t.counters().evicted_lru == 0);
}

TEST_CASE("AccountTable memory stays bounded under a flood of distinct accounts", "[detect][table]") {
  AccountTable t(1000, 12, int64_t{1} << 50);
  for (int i = 0; i < 1000; ++i) {
    std::string id = "acct-" + std::to_string(i);
    t.touch(ds::hash_str(id), id, i).last_seen_ms = i;
  }
  const uint64_t full = t.memory_bytes();
  for (int i = 1000; i < 50000; ++i) {
    std::string id = "acct-" + std::to_string(i);
    t.touch(ds::hash_str(id), id, i).last_seen_ms = i;
  }
  REQUIRE(t.size() == 1000);
  REQUIRE(t.counters().evicted_lru == 49000);
  REQUIRE(t.memory_bytes() <= full + 1000 * 16);  // only id capacities may differ
  // The survivors are the 1000 most recent.
  REQUIRE(t.find(ds::hash_str("acct-49999")) != nullptr);
  REQUIRE(t.find(ds::hash_str("acct-49000"))->id == "acct-49000");
  REQUIRE(t.find(ds::hash_str("acct-48999")) == nullptr);
}
