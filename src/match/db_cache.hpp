// DbCache: compiled Hyperscan databases on disk, keyed by the rule set's
// digest and the Hyperscan version, so a restart or a second scan skips the
// (seconds-long) compile. Directory: $DISTILLSCAN_CACHE_DIR, else
// $XDG_CACHE_HOME/distillscan, else ~/.cache/distillscan; "off" disables.
// Any failure (missing, corrupt, foreign file) means "compile again", never an error.
// It also keeps parsed rule files (below).
#pragma once
#include <cstdint>
#include <vector>

#include "match/rule_set.hpp"

struct hs_database;

namespace ds::match_detail {

hs_database* load_cached_db(uint64_t digest);
void store_cached_db(uint64_t digest, const hs_database* db);

// Parsed rules, keyed by the rule files' names and bytes (RuleSet::load):
// yaml-cpp takes ~10 ms for the bundled pack, all of it before the first
// line is read. `key` and `check` are two independent hashes of the sources;
// both must match. Only parses without diagnostics are stored.
bool load_cached_rules(uint64_t key, uint64_t check, std::vector<Rule>& out);
void store_cached_rules(uint64_t key, uint64_t check, const std::vector<Rule>& rules);

}  // namespace ds::match_detail
