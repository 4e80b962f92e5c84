#include "match/db_cache.hpp"

#include <hs/hs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "core/hash.hpp"

namespace ds::match_detail {
namespace {

std::filesystem::path cache_dir() {
  if (const char* d = std::getenv("DISTILLSCAN_CACHE_DIR"); d != nullptr) {
    if (std::string(d) == "off" || *d == 0) return {};
    return d;
  }
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x) return std::filesystem::path(x) / "distillscan";
  if (const char* h = std::getenv("HOME"); h != nullptr && *h) return std::filesystem::path(h) / ".cache" / "distillscan";
  return {};
}

std::filesystem::path cache_file(uint64_t digest) {
  auto dir = cache_dir();
  if (dir.empty()) return {};
  // The Hyperscan version and the host's instruction set are part of the key:
  // a database is only valid for the library and platform that built it.
  hs_platform_info_t plat{};
  hs_populate_platform(&plat);
  uint64_t key = hash_combine(digest, hash_str(hs_version()));
  key = hash_combine(key, plat.cpu_features);
  key = hash_combine(key, plat.tune);
  char name[48];
  std::snprintf(name, sizeof name, "rules-%016llx.hsdb", static_cast<unsigned long long>(key));
  return dir / name;
}

// Write then rename, so a concurrent reader never sees half a file.
void write_atomically(const std::filesystem::path& path, std::string_view bytes) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      out.close();
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace

hs_database* load_cached_db(uint64_t digest) {
  auto path = cache_file(digest);
  if (path.empty()) return nullptr;
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(bytes.data(), bytes.size(), &db) != HS_SUCCESS) return nullptr;
  return db;
}

void store_cached_db(uint64_t digest, const hs_database* db) {
  auto path = cache_file(digest);
  if (path.empty()) return;
  char* bytes = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) return;
  write_atomically(path, std::string_view(bytes, len));
  std::free(bytes);
}

// --- parsed rules ---------------------------------------------------------
// File: magic, check, payload hash, payload. Payload: rule count, then per
// rule its fields in declaration order; strings as u32 length + bytes.
namespace {

constexpr char kRulesMagic[8] = {'D', 'S', 'R', 'U', 'L', 'E', 'S', '1'};  // bump with the layout or the loader's output

class Out {
 public:
  void u32(uint32_t v) { s_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void u64(uint64_t v) { s_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void f64(double v) { s_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& v) {
    u32(static_cast<uint32_t>(v.size()));
    s_ += v;
  }
  std::string& bytes() { return s_; }

 private:
  std::string s_;
};

class In {
 public:
  explicit In(std::string_view s) : s_(s) {}
  template <class T>
  bool pod(T& v) {
    if (s_.size() < sizeof v) return ok_ = false;
    std::memcpy(&v, s_.data(), sizeof v);
    s_.remove_prefix(sizeof v);
    return true;
  }
  bool str(std::string& v) {
    uint32_t n = 0;
    if (!pod(n) || s_.size() < n) return ok_ = false;
    v.assign(s_.data(), n);
    s_.remove_prefix(n);
    return true;
  }
  bool done() const { return ok_ && s_.empty(); }

 private:
  std::string_view s_;
  bool ok_ = true;
};

std::filesystem::path rules_file(uint64_t key) {
  auto dir = cache_dir();
  if (dir.empty()) return {};
  char name[48];
  std::snprintf(name, sizeof name, "parsed-%016llx.rules", static_cast<unsigned long long>(key));
  return dir / name;
}

}  // namespace

bool load_cached_rules(uint64_t key, uint64_t check, std::vector<Rule>& out) {
  auto path = rules_file(key);
  if (path.empty()) return false;
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string bytes = ss.str();
  uint64_t got_check = 0, payload_hash = 0;
  if (bytes.size() < sizeof kRulesMagic + 16 || std::memcmp(bytes.data(), kRulesMagic, sizeof kRulesMagic) != 0)
    return false;
  std::memcpy(&got_check, bytes.data() + 8, 8);
  std::memcpy(&payload_hash, bytes.data() + 16, 8);
  const std::string_view payload = std::string_view(bytes).substr(24);
  if (got_check != check || hash_str(payload) != payload_hash) return false;
  In in(payload);
  uint32_t n = 0;
  if (!in.pod(n) || n > payload.size()) return false;
  std::vector<Rule> rules(n);
  for (Rule& r : rules) {
    uint32_t np = 0, ne = 0;
    in.str(r.id), in.str(r.description), in.str(r.category);
    in.pod(r.category_index), in.pod(r.field_mask), in.pod(r.weight);
    if (!in.pod(np) || np > payload.size()) return false;
    r.patterns.resize(np);
    for (RulePattern& p : r.patterns) in.str(p.expression), in.pod(p.flags), in.pod(p.line);
    if (!in.pod(ne) || ne > payload.size()) return false;
    r.examples.resize(ne);
    for (RuleExample& e : r.examples) {
      uint8_t match = 0, field = 0;
      in.str(e.text), in.pod(match), in.pod(field), in.pod(e.line);
      if (field >= static_cast<uint8_t>(TextField::kCount)) return false;
      e.should_match = match != 0;
      e.field = static_cast<TextField>(field);
    }
    in.str(r.file), in.pod(r.line);
  }
  if (!in.done()) return false;
  out = std::move(rules);
  return true;
}

void store_cached_rules(uint64_t key, uint64_t check, const std::vector<Rule>& rules) {
  auto path = rules_file(key);
  if (path.empty()) return;
  Out o;
  o.u32(static_cast<uint32_t>(rules.size()));
  for (const Rule& r : rules) {
    o.str(r.id), o.str(r.description), o.str(r.category);
    o.u32(r.category_index), o.u32(r.field_mask), o.f64(r.weight);
    o.u32(static_cast<uint32_t>(r.patterns.size()));
    for (const RulePattern& p : r.patterns) {
      o.str(p.expression), o.u32(p.flags);
      o.u32(static_cast<uint32_t>(p.line));
    }
    o.u32(static_cast<uint32_t>(r.examples.size()));
    for (const RuleExample& e : r.examples) {
      o.str(e.text);
      o.bytes() += static_cast<char>(e.should_match ? 1 : 0);
      o.bytes() += static_cast<char>(static_cast<uint8_t>(e.field));
      o.u32(static_cast<uint32_t>(e.line));
    }
    o.str(r.file);
    o.u32(static_cast<uint32_t>(r.line));
  }
  std::string file(kRulesMagic, sizeof kRulesMagic);
  Out head;
  head.u64(check);
  head.u64(hash_str(o.bytes()));
  file += head.bytes();
  file += o.bytes();
  write_atomically(path, file);
}

}  // namespace ds::match_detail
