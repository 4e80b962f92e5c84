// DbCache: compiled Hyperscan databases on disk, keyed by the rule set's
// digest and the Hyperscan version, so a restart or a second scan skips the
// (seconds-long) compile. Directory: $DISTILLSCAN_CACHE_DIR, else
// $XDG_CACHE_HOME/distillscan, else ~/.cache/distillscan; "off" disables.
// Any failure (missing, corrupt, foreign file) means "compile again", never an error.
#pragma once
#include <cstdint>

struct hs_database;

namespace ds::match_detail {

hs_database* load_cached_db(uint64_t digest);
void store_cached_db(uint64_t digest, const hs_database* db);

}  // namespace ds::match_detail
