#include "detect/account_table.hpp"

namespace ds {

AccountTable::AccountTable(uint64_t max_accounts, uint32_t buckets, int64_t idle_ms, uint32_t max_id_bytes)
    : max_(max_accounts < 1 ? 1 : max_accounts),
      buckets_per_(buckets),
      idle_ms_(idle_ms),
      max_id_bytes_(max_id_bytes),
      index_(max_) {}  // grows on demand: a huge max_accounts costs nothing until used

AccountState* AccountTable::find(uint64_t hash) {
  uint32_t s = index_.find(hash);
  return s == FlatIndex::kNone ? nullptr : &slots_[s];
}

void AccountTable::unlink(uint32_t s) {
  Link& l = lru_[s];
  if (l.prev != kNil) lru_[l.prev].next = l.next; else head_ = l.next;
  if (l.next != kNil) lru_[l.next].prev = l.prev; else tail_ = l.prev;
  l = Link{};
}

void AccountTable::push_front(uint32_t s) {
  lru_[s] = {kNil, head_};
  if (head_ != kNil) lru_[head_].prev = s;
  head_ = s;
  if (tail_ == kNil) tail_ = s;
}

void AccountTable::evict(uint32_t s) {
  unlink(s);
  index_.erase(slots_[s].hash);
  free_.push_back(s);
}

AccountState& AccountTable::touch(uint64_t hash, std::string_view id, int64_t now_ms) {
  uint32_t s = index_.find(hash);
  if (s != FlatIndex::kNone) {
    if (head_ != s) {
      unlink(s);
      push_front(s);
    }
    return slots_[s];
  }
  // Idle accounts first (by event time), then the least recently seen.
  while (tail_ != kNil && slots_[tail_].last_seen_ms < now_ms - idle_ms_) {
    evict(tail_);
    ++counters_.evicted_idle;
  }
  if (index_.size() >= max_) {
    evict(tail_);
    ++counters_.evicted_lru;
  }
  if (!free_.empty()) {
    s = free_.back();
    free_.pop_back();
  } else {
    s = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
    lru_.emplace_back();
    buckets_.resize(buckets_.size() + buckets_per_);
  }
  AccountState& a = slots_[s];
  std::string keep = std::move(a.id);  // reuse the string's capacity
  a = AccountState{};
  a.id = std::move(keep);
  assign_account_id(a.id, id, max_id_bytes_);
  a.hash = hash;
  for (uint32_t i = 0; i < buckets_per_; ++i) buckets_[uint64_t(s) * buckets_per_ + i] = WindowBucket{};
  index_.insert(hash, s);
  push_front(s);
  ++counters_.created;
  return a;
}

uint64_t AccountTable::memory_bytes() const {
  uint64_t ids = 0;
  for (const auto& a : slots_) ids += a.id.capacity();
  return index_.memory_bytes() + slots_.capacity() * sizeof(AccountState) + lru_.capacity() * sizeof(Link) +
         buckets_.capacity() * sizeof(WindowBucket) + free_.capacity() * sizeof(uint32_t) + ids;
}

}  // namespace ds
