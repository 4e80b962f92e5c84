// FlatIndex: open-addressing map from a 64-bit key (never 0) to a 32-bit
// slot, with a fixed capacity chosen up front. Linear probing with
// backward-shift deletion: no tombstones, no allocation after construction,
// so a flood of new keys cannot grow memory.
#pragma once
#include <cstdint>
#include <vector>

namespace ds {

class FlatIndex {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  explicit FlatIndex(uint64_t max_entries) {
    uint64_t cap = 16;
    while (cap < max_entries * 2) cap <<= 1;  // load factor <= 0.5
    keys_.assign(cap, 0);
    vals_.assign(cap, kNone);
    mask_ = cap - 1;
  }

  uint32_t find(uint64_t key) const {
    for (uint64_t i = key & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return vals_[i];
      if (keys_[i] == 0) return kNone;
    }
  }

  // Caller guarantees key is absent and size() < capacity()/2.
  void insert(uint64_t key, uint32_t val) {
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

  uint64_t size() const { return size_; }
  uint64_t capacity() const { return keys_.size(); }
  uint64_t memory_bytes() const { return keys_.size() * (sizeof(uint64_t) + sizeof(uint32_t)); }

 private:
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> vals_;
  uint64_t mask_ = 0;
  uint64_t size_ = 0;
};

}  // namespace ds
