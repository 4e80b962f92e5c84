#include "match/db_cache.hpp"

#include <hs/hs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  // Write then rename, so a concurrent reader never sees half a file.
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes, static_cast<std::streamsize>(len));
    if (!out) {
      std::free(bytes);
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::free(bytes);
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace ds::match_detail
