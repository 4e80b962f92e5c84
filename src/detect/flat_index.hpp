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
      if (cells_[i].key == key) return cells_[i].val;
      if (cells_[i].key == 0) return kNone;
    }
  }

  // Caller guarantees key is absent and non-zero. Grows (doubling) when the
  // load factor would pass 0.5.
  void insert(uint64_t key, uint32_t val) {
    if ((size_ + 1) * 2 > cells_.size()) rehash(cells_.size() * 2);
    uint64_t i = key & mask_;
    while (cells_[i].key != 0) i = (i + 1) & mask_;
    cells_[i] = {key, val};
    ++size_;
  }

  void erase(uint64_t key) {
    uint64_t i = key & mask_;
    while (cells_[i].key != key) {
      if (cells_[i].key == 0) return;
      i = (i + 1) & mask_;
    }
    // Backward-shift: pull later entries of the probe run into the hole.
    for (uint64_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (cells_[j].key == 0) break;
      uint64_t home = cells_[j].key & mask_;
      // Move j into i if its home is not cyclically in (i, j].
      bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
      if (!between) {
        cells_[i] = cells_[j];
        i = j;
      }
    }
    cells_[i] = Cell{};
    --size_;
  }

  // Pre-sizes for n entries (e.g. when restoring state), without exceeding
  // what max_entries needs.
  void reserve(uint64_t n) {
    uint64_t cap = cells_.size();
    while (cap < n * 2) cap <<= 1;
    if (cap != cells_.size()) rehash(cap);
  }

  void clear() { rehash(kMinCapacity); }

  uint64_t size() const { return size_; }
  uint64_t capacity() const { return cells_.size(); }
  uint64_t max_entries() const { return max_entries_; }
  uint64_t memory_bytes() const { return cells_.size() * sizeof(Cell); }

 private:
  // Key and slot side by side: a lookup costs one cache miss, not two.
  struct Cell {
    uint64_t key = 0;
    uint32_t val = kNone;
  };

  void rehash(uint64_t cap) {
    std::vector<Cell> old;
    old.swap(cells_);
    cells_.assign(cap, Cell{});
    mask_ = cap - 1;
    size_ = 0;
    for (const Cell& c : old) {
      if (c.key == 0) continue;
      uint64_t j = c.key & mask_;
      while (cells_[j].key != 0) j = (j + 1) & mask_;
      cells_[j] = c;
      ++size_;
    }
  }

  uint64_t max_entries_;
  std::vector<Cell> cells_;
  uint64_t mask_ = 0;
  uint64_t size_ = 0;
};

}  // namespace ds
