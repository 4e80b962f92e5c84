// FieldTrie: every mapped JSON Pointer of a FieldMapping compiled into one
// deterministic trie, so the parser extracts all fields in a single pass over
// a record in document order (no at_pointer rewinds).
//
// A node stands for "the value reached by these steps". Object members follow
// `keys`; array elements follow `indexes` (an explicit index, already merged
// with what `*` reaches) or else `star`. `*` and numeric tokens also match the
// literal object keys "*" and "0".. (RFC 6901). Built once per LineParser.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "parse/field_mapping.hpp"

namespace ds {

inline constexpr uint32_t field_mask(Field f) {
  return 1u << static_cast<unsigned>(f);
}
static_assert(kFieldCount <= 32, "field masks are 32-bit");

class FieldTrie {
 public:
  static constexpr int32_t kNone = -1;

  struct KeyEdge {
    std::string key;
    int32_t child = kNone;
    uint64_t head = 0;  // first (up to) 8 bytes of key, little-endian, zero-filled
  };
  struct IndexEdge {
    uint32_t index = 0;
    int32_t child = kNone;
  };
  struct Node {
    uint32_t fields = 0;  // fields whose pointer ends at this node
    std::vector<KeyEdge> keys;
    std::vector<IndexEdge> indexes;
    int32_t star = kNone;  // array elements without an explicit index edge
    bool has_children() const { return !keys.empty() || !indexes.empty() || star != kNone; }
  };

  explicit FieldTrie(const FieldMapping& mapping);

  const Node& root() const { return nodes_[0]; }
  const Node& node(int32_t i) const { return nodes_[static_cast<size_t>(i)]; }
  size_t size() const { return nodes_.size(); }

  // Child of `n` for an object key; kNone if no pointer continues through it.
  // Returns the edge number in `edge` (for duplicate-key tracking, < 32).
  int32_t key_child(const Node& n, std::string_view key, unsigned& edge) const {
    for (size_t i = 0; i < n.keys.size(); ++i) {
      const auto& k = n.keys[i].key;
      if (k.size() == key.size() && same_bytes(k.data(), key.data(), k.size())) {
        edge = static_cast<unsigned>(i);
        return n.keys[i].child;
      }
    }
    return kNone;
  }
  // Same, for a key followed by at least 8 readable bytes (a key in a padded
  // line or in simdjson's string buffer): one 8-byte compare rejects most edges.
  int32_t key_child_padded(const Node& n, std::string_view key, unsigned& edge) const {
    uint64_t head;
    std::memcpy(&head, key.data(), 8);
    if (key.size() < 8) head &= (uint64_t{1} << (8 * key.size())) - 1;
    for (size_t i = 0; i < n.keys.size(); ++i) {
      const KeyEdge& e = n.keys[i];
      if (e.head == head && e.key.size() == key.size() &&
          (key.size() <= 8 || same_bytes(e.key.data() + 8, key.data() + 8, key.size() - 8))) {
        edge = static_cast<unsigned>(i);
        return e.child;
      }
    }
    return kNone;
  }
  // Keys are short: an inline loop beats a memcmp call.
  static bool same_bytes(const char* a, const char* b, size_t n) {
    for (size_t i = 0; i < n; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  int32_t index_child(const Node& n, uint32_t index) const {
    for (const auto& e : n.indexes)
      if (e.index == index) return e.child;
    return n.star;
  }

 private:
  std::vector<Node> nodes_;
};

}  // namespace ds
