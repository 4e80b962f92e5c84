// Detector state checkpoints (for `tail --state-dir`): everything the
// account detectors and the cluster stage keep, so that processing events
// [0,k), saving, loading into fresh detectors built from the same config and
// rules, and processing [k,n) writes exactly the alerts (and leaves exactly
// the summaries and counters) of processing [0,n) in one go.
//
// Format (version 3; see kDetectorStateVersion), all integers little-endian, fixed width:
//   magic "DSDETST\0" | u32 version | u32 shards | u32 buckets | i64 bucket_seconds
//   | u64 max_accounts | u32 categories | u64 config_hash | u8 has_cluster
//   | per shard: section 'S' (u32 tag, u64 length, body)
//   | if has_cluster: section 'C'
//   | u64 checksum (detector_state_checksum of every byte before it)
// config_hash covers every DetectorConfig field and the rule category names
// in order: a state written under another config or rule set is refused
// ("state was written with detector.shards=4, config says 8"; other fields:
// "... a different detector config or rule categories").
//
// Loading validates every count against the configured caps and the bytes
// left before allocating, every index and time range, and is all-or-nothing:
// on error the detectors passed in are untouched.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "detect/account_detector.hpp"
#include "detect/cluster_stage.hpp"

namespace ds {

// 2: AccountState::near_prompts; 3: cluster fingerprints without the unused
// distinct-account sketch.
inline constexpr uint32_t kDetectorStateVersion = 3;

// Appends a self-contained blob to `out`. `cluster` may be null (disabled).
void save_detector_state(const std::vector<std::unique_ptr<AccountDetector>>& shards, const ClusterStage* cluster,
                         std::string& out);

// Restores a blob written by save_detector_state into `shards` and `cluster`
// (built from the current config and rules). Error messages name the problem
// ("not a distillscan detector state", "checksum mismatch", ...).
Result<void> load_detector_state(std::string_view in, std::vector<std::unique_ptr<AccountDetector>>& shards,
                                 ClusterStage* cluster);

// Hash of a detector config plus rule categories (part of the header).
uint64_t detector_config_hash(const DetectorConfig& cfg, const std::vector<std::string>& categories);

}  // namespace ds
