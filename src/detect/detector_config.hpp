// DetectorConfig: thresholds, weights, windows and limits of the detector
// stage. Every value has a default; the YAML `detector:` and `limits:`
// sections override them (app/config.cpp). Plain data, no behaviour.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ds {

struct CategoryThreshold {
  std::string category;
  double threshold = 0.3;  // share of requests hitting the category
  double weight = 1.0;
};

// Harvesting (reasoning traces, datasets, rubric grading, safe rewrites):
// a rule-category rate AND a volume of such requests AND long outputs per
// hit (or, when the log has no usage, one more corroborating signal).
struct HarvestConfig {
  uint64_t min_hits = 20;          // hit requests in the short window
  uint64_t long_min_hits = 100;    // hit requests over the long horizon
  double output_tokens = 1000;     // completion tokens per choice of hit requests
  double mixed_share = 0.04;       // share of any harvesting category over the long horizon (reseller mixes)
  // Templated harvesting without rule hits: one dominant prompt suffix
  // (fixed instruction after a swept question) AND long outputs AND volume.
  double template_share = 0.8;     // requests carrying the dominant suffix (long horizon)
  double template_output_tokens = 1000;  // completion tokens per choice over all requests
  double output_input_ratio = 10;  // ... or, instead of the dominant suffix, completion/prompt tokens >= this
                                   // on single-turn traffic (share >= 0.8)
  double near_duplicate_share = 0.9;  // ... or 1 - distinct MinHash keys / requests >= this (near-duplicate
                                      // prompts: a template filled in at both ends); this shape also needs
                                      // the flat round-the-clock cadence (corroboration.flat_hours)
};

// Logit / logprob probing: at least `min_signals` of logprobs share, large
// logit_bias share, tiny max_tokens share and prompt repetition.
struct LogitProbeConfig {
  int32_t top_logprobs = 5;        // a request with top_logprobs >= this counts as "max logprobs"
  int32_t bias_entries = 20;       // logit_bias maps with >= this many entries count as large
  int64_t max_tokens = 4;          // max_tokens <= this counts as tiny output
  double share = 0.5;              // each share threshold
  double repetition = 0.8;         // 1 - distinct prompts / requests
  uint64_t min_requests = 50;      // over the long horizon
  uint32_t min_signals = 3;
};

// System-prompt / configuration extraction.
struct ExtractionConfig {
  std::string category = "system_prompt_extraction";
  uint64_t min_hits = 10;          // over the long horizon
};

// Corroborating signals: listed (and added to the score) when they hold.
struct CorroborationConfig {
  double n_share = 0.1;            // share of requests with n > 1
  uint32_t temperatures = 3;       // distinct temperature bins (0.1 wide)
  double diversity = 0.5;          // distinct prompts / requests (long horizon)
  double flat_hours = 0.9;         // normalised hour-of-day entropy (needs >= 12 h of history)
  double rate_per_hour = 100;      // short-window requests per hour
  double ips = 3;                  // distinct client IPs (lifetime)
  double keys = 2;                 // distinct API keys (lifetime)
};

// Cross-account stage (hydra clusters): fingerprints (system prompt, prompt
// suffix skeleton, user agent, client IP) shared by many accounts whose
// traffic is harvesting.
struct ClusterConfig {
  bool enabled = true;
  uint32_t min_accounts = 8;        // members with >= member_min_requests
  double harvest_share = 0.5;       // share of the fingerprint's requests that hit a harvesting rule
  double output_tokens = 800;       // completion tokens per choice of the cluster's hit requests
  double long_output_tokens = 1600; // a request with this many tokens per choice (and no tool turns) counts
                                    // as harvesting for the cluster stage even without a rule hit
  uint32_t member_min_requests = 5; // a member's own requests on the fingerprint
  double member_share = 0.5;        // a member's own hit share on the fingerprint
  int64_t interval_seconds = 300;   // evaluation period (event time)
  int64_t idle_seconds = 6 * 3600;  // fingerprints without a hit this long are evicted
  uint64_t max_fingerprints = 8192; // cap on tracked fingerprints (LRU eviction beyond, counted)
  uint64_t max_names = 65536;       // cap on remembered member account names (FIFO, counted)
  uint32_t members_listed = 20;     // members listed in an alert
};

struct DetectorConfig {
  // Event-time window: `buckets` ring buckets of `bucket_seconds` each.
  int64_t bucket_seconds = 300;
  uint32_t buckets = 12;  // window = 1 h by default (max kMaxBuckets)
  int64_t horizon_seconds = 86400;  // long horizon (two epochs of half each)
  uint64_t min_requests = 20;  // an account needs this many requests in the window (or horizon) to be judged
  double default_threshold = 0.3;
  std::vector<CategoryThreshold> categories;  // per-category overrides
  std::vector<std::pair<std::string, double>> weights;  // per-reason weight overrides (default 1)
  double critical_score = 0.8;               // score >= this => critical, else warning
  double alert_score = 0.5;                  // minimum score to alert
  int64_t suppress_seconds = 3600;           // repeats for one account are suppressed this long, across both
                                             // stages (account detector and cluster stage), unless warning -> critical

  HarvestConfig harvest;
  LogitProbeConfig logit_probe;
  ExtractionConfig extraction;
  CorroborationConfig corroboration;
  ClusterConfig cluster;

  // Limits.
  uint32_t shards = 4;            // fixed (not tied to --threads) so results never depend on it
  uint64_t max_accounts = 200000; // across all shards; LRU eviction beyond
  int64_t account_idle_seconds = 2 * 86400;  // accounts idle this long (event time) are evicted
  // limits.max_account_bytes: account ids longer than this (min 32) are kept
  // as their first bytes + "~" + 16 hex digits of the full id's hash
  // (detect/account_state.hpp assign_account_id).
  uint32_t max_account_bytes = 256;

  int64_t window_seconds() const { return bucket_seconds * static_cast<int64_t>(buckets); }
  double weight(std::string_view reason) const {  // no allocation: called on the hot path
    for (const auto& [k, w] : weights)
      if (k == reason) return w;
    return 1.0;
  }
};

}  // namespace ds
