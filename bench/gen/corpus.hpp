// Corpus: builds every population into one World and writes the merged,
// time-ordered event stream in the chosen layout. Memory stays bounded: one
// event is rendered at a time into an output buffer that is flushed in
// large writes; actors keep only their own small state (a chat history, an
// agent context).
#pragma once
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "layout.hpp"
#include "population.hpp"

namespace gen {

struct CorpusOptions {
  uint64_t seed = 1;
  int accounts = 400;
  double hours = 24;
  int64_t start_ms = 0;
  Layout layout = Layout::OpenAI;
  BuildOptions build;
  std::map<std::string, double, std::less<>> mix;  // style -> share override
  double jitter_rate = 0.004;                      // share of events logged up to 2 s early
};

struct StyleStats {
  int accounts = 0;
  uint64_t requests = 0, bytes = 0;
};

struct CorpusResult {
  uint64_t lines = 0, bytes = 0;
  std::map<std::string, StyleStats, std::less<>> by_style;
};

// Number of accounts per style for a total (shares normalised; minimums
// honoured; the `benign` style absorbs rounding).
std::vector<std::pair<const PopulationInfo*, int>> allocate_accounts(const CorpusOptions& opt);

// Generates the corpus. `out` may be null (dry run: count bytes only).
// `labels` (may be null) receives the CSV of account labels.
CorpusResult generate(const CorpusOptions& opt, std::FILE* out, std::FILE* labels);

}  // namespace gen
