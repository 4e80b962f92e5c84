// AccountTable: the per-shard map of AccountState with a hard cap.
// Eviction: accounts idle longer than the idle TTL (by event time) go first,
// then the least recently seen when the cap is reached. Both are counted.
// Owned by one shard thread: no locks.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "detect/account_state.hpp"
#include "detect/flat_index.hpp"

namespace ds {

struct TableCounters {
  uint64_t created = 0;
  uint64_t evicted_idle = 0;
  uint64_t evicted_lru = 0;
};

class AccountTable {
 public:
  // max_id_bytes: longer account ids are shortened (assign_account_id).
  AccountTable(uint64_t max_accounts, uint32_t buckets, int64_t idle_ms,
               uint32_t max_id_bytes = kDefaultAccountBytes);

  // Returns the state for `hash`, creating it (and evicting) if needed.
  // `now_ms` is the shard's event-time watermark.
  AccountState& touch(uint64_t hash, std::string_view id, int64_t now_ms);
  AccountState* find(uint64_t hash);

  WindowBucket* ring(const AccountState& a) { return &buckets_[slot_of(a) * buckets_per_]; }

  uint64_t size() const { return index_.size(); }
  const TableCounters& counters() const { return counters_; }
  uint64_t memory_bytes() const;
  uint64_t max_accounts() const { return max_; }

  // Checkpoints (detect/state_io.cpp): the exact slot layout, LRU order,
  // free list and counters, so a restored table evicts exactly as this one.
  void save_state(class StateWriter& w) const;
  bool load_state(class StateReader& r, std::string& err);

  template <class F>
  void for_each(F&& f) const {
    for (uint32_t s = head_; s != kNil; s = lru_[s].next) f(slots_[s]);
  }

 private:
  static constexpr uint32_t kNil = 0xFFFFFFFFu;
  uint32_t slot_of(const AccountState& a) const { return static_cast<uint32_t>(&a - slots_.data()); }
  void unlink(uint32_t s);
  void push_front(uint32_t s);
  void evict(uint32_t s);

  uint64_t max_;
  uint32_t buckets_per_;
  int64_t idle_ms_;
  uint32_t max_id_bytes_;
  FlatIndex index_;
  std::vector<AccountState> slots_;
  // LRU links of slots_[i], apart from the states: relinking an account
  // touches its neighbours' links, not three more ~1.5 KB states.
  struct Link {
    uint32_t prev = kNil, next = kNil;
  };
  std::vector<Link> lru_;
  std::vector<WindowBucket> buckets_;
  std::vector<uint32_t> free_;
  uint32_t head_ = kNil;  // most recent
  uint32_t tail_ = kNil;  // least recent
  TableCounters counters_;
};

}  // namespace ds
