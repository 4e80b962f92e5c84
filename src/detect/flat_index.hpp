// FlatIndex: open-addressing map from a 64-bit key (never 0) to a 32-bit
// slot. Linear probing with backward-shift deletion (no tombstones). The
// table starts small and doubles when it would pass a load factor of 0.5, up
// to what `max_entries` needs: a huge cap (limits.max_accounts: 1e9) costs
// nothing until that many keys actually exist. Growth is amortised (a rehash
// at each doubling, never per insert), and the table never shrinks, so a
// steady working set allocates nothing.
#pragma once
#include <cstdint>
#include <vector>

namespace ds {

class FlatIndex {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  static constexpr uint64_t kMinCapacity = 16;

  explicit FlatIndex(uint64_t max_entries = 0) : max_entries_(max_entries) { rehash(kMinCapacity); }

  uint32_t find(uint64_t key) const {
    for (uint64_t i = key & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return vals_[i];
      if (keys_[i] == 0) return kNone;
    }
  }

  // Caller guarantees key is absent and non-zero. Grows (doubling) when the
  // load factor would pass 0.5.
  void insert(uint64_t key, uint32_t val) {
    if ((size_ + 1) * 2 > keys_.size()) rehash(keys_.size() * 2);
    uint64_t i = key & mask_;
    while (keys_[i] != 0) i = (i + 1) & mask_;
    keys_[i] = key;
    vals_[i] = val;
    ++size_;
  }

  void erase(uint64_t key) {
    uint64_t i = key & mask_;
    while (keys_[i] != key) {
      if (keys_[i] == 0) return;
      i = (i + 1) & mask_;
    }
    // Backward-shift: pull later entries of the probe run into the hole.
    for (uint64_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (keys_[j] == 0) break;
      uint64_t home = keys_[j] & mask_;
      // Move j into i if its home is not cyclically in (i, j].
      bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
      if (!between) {
        keys_[i] = keys_[j];
        vals_[i] = vals_[j];
        i = j;
      }
    }
    keys_[i] = 0;
    vals_[i] = kNone;
    --size_;
  }

  // Pre-sizes for n entries (e.g. when restoring state), without exceeding
  // what max_entries needs.
  void reserve(uint64_t n) {
    uint64_t cap = keys_.size();
    while (cap < n * 2) cap <<= 1;
    if (cap != keys_.size()) rehash(cap);
  }

  void clear() { rehash(kMinCapacity); }

  uint64_t size() const { return size_; }
  uint64_t capacity() const { return keys_.size(); }
  uint64_t max_entries() const { return max_entries_; }
  uint64_t memory_bytes() const { return keys_.size() * (sizeof(uint64_t) + sizeof(uint32_t)); }

 private:
  void rehash(uint64_t cap) {
    std::vector<uint64_t> old_keys;
    std::vector<uint32_t> old_vals;
    old_keys.swap(keys_);
    old_vals.swap(vals_);
    keys_.assign(cap, 0);
    vals_.assign(cap, kNone);
    mask_ = cap - 1;
    size_ = 0;
    for (uint64_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] == 0) continue;
      uint64_t j = old_keys[i] & mask_;
      while (keys_[j] != 0) j = (j + 1) & mask_;
      keys_[j] = old_keys[i];
      vals_[j] = old_vals[i];
      ++size_;
    }
  }

  uint64_t max_entries_;
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> vals_;
  uint64_t mask_ = 0;
  uint64_t size_ = 0;
};

}  // namespace ds
