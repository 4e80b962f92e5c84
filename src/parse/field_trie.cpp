#include "parse/field_trie.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

namespace ds {

namespace {

// (field, number of tokens already matched)
using Item = std::pair<uint8_t, uint32_t>;
using State = std::vector<Item>;

// RFC 6901 array index: "0" or no leading zero; bounded so it fits uint32.
bool as_array_index(const std::string& t, uint32_t& out) {
  if (t.empty() || t.size() > 9) return false;
  if (t.size() > 1 && t[0] == '0') return false;
  for (char c : t)
    if (c < '0' || c > '9') return false;
  std::from_chars(t.data(), t.data() + t.size(), out);
  return true;
}

}  // namespace

FieldTrie::FieldTrie(const FieldMapping& mapping) {
  std::map<State, int32_t> seen;
  std::vector<State> states;
  auto intern = [&](State s) -> int32_t {
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
    auto it = seen.find(s);
    if (it != seen.end()) return it->second;
    auto id = static_cast<int32_t>(nodes_.size());
    nodes_.emplace_back();
    seen.emplace(s, id);
    states.push_back(std::move(s));
    return id;
  };

  State start;
  for (size_t f = 0; f < kFieldCount; ++f)
    if (!mapping.tokens(static_cast<Field>(f)).empty()) start.emplace_back(static_cast<uint8_t>(f), 0);
  intern(std::move(start));

  for (size_t id = 0; id < nodes_.size(); ++id) {
    State s = states[id];  // copy: `states` grows below
    auto tok = [&](const Item& it) -> const std::string& {
      return mapping.tokens(static_cast<Field>(it.first))[it.second];
    };
    auto done = [&](const Item& it) {
      return it.second == mapping.tokens(static_cast<Field>(it.first)).size();
    };

    uint32_t fields = 0;
    std::vector<std::string> keys;
    std::vector<uint32_t> indexes;
    State star;
    for (const auto& it : s) {
      if (done(it)) {
        fields |= 1u << it.first;
        continue;
      }
      const auto& t = tok(it);
      if (std::find(keys.begin(), keys.end(), t) == keys.end()) keys.push_back(t);
      uint32_t idx = 0;
      if (as_array_index(t, idx) && std::find(indexes.begin(), indexes.end(), idx) == indexes.end())
        indexes.push_back(idx);
      if (t == "*") star.emplace_back(it.first, it.second + 1);
    }

    std::vector<KeyEdge> key_edges;
    for (const auto& k : keys) {
      State next;
      for (const auto& it : s)
        if (!done(it) && tok(it) == k) next.emplace_back(it.first, it.second + 1);
      uint64_t head = 0;
      for (size_t b = 0; b < k.size() && b < 8; ++b)
        head |= uint64_t{static_cast<unsigned char>(k[b])} << (8 * b);
      key_edges.push_back({k, intern(std::move(next)), head});
    }
    std::vector<IndexEdge> index_edges;
    for (uint32_t idx : indexes) {
      State next = star;
      for (const auto& it : s) {
        uint32_t v = 0;
        if (!done(it) && as_array_index(tok(it), v) && v == idx) next.emplace_back(it.first, it.second + 1);
      }
      index_edges.push_back({idx, intern(std::move(next))});
    }
    int32_t star_child = star.empty() ? kNone : intern(std::move(star));

    Node& n = nodes_[id];
    n.fields = fields;
    n.keys = std::move(key_edges);
    n.indexes = std::move(index_edges);
    n.star = star_child;
  }
}

}  // namespace ds
