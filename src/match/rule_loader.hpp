// Rule loader (internal to match/): turns rule files (YAML) into Rule values
// and located diagnostics. It checks shape, names and types only; Hyperscan
// compilation, duplicate ids and limits are RuleSet's job (rule_set.cpp).
// Never throws on bad input: every problem becomes a RuleDiagnostic, and the
// loader keeps going so one run reports all of them.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "match/rule_set.hpp"

namespace ds::match_detail {

// One rule file's text, read from disk (or given in memory).
struct RuleSource {
  std::string file;
  std::string text;
};

// Expands each path (a file, or a directory: its *.yaml / *.yml files sorted by
// name, not recursive) and reads the files. Missing or unreadable paths become
// diagnostics.
std::vector<RuleSource> read_rule_sources(const std::vector<std::string>& paths,
                                          std::vector<RuleDiagnostic>& diagnostics);

// Parses one file. Appends every rule found (even one with problems, so later
// checks such as duplicate ids and pattern compilation still see it) and every
// problem. Rules come back with default flags applied and example fields set.
void parse_rule_file(std::string_view yaml, const std::string& file, std::vector<Rule>& rules,
                     std::vector<RuleDiagnostic>& diagnostics);

}  // namespace ds::match_detail
