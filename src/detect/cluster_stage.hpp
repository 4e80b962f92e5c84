// ClusterStage: the cross-account (hydra) detector. Runs in the collector
// thread over every event in input order, so its state and alerts do not
// depend on thread timing or chunk sizes; it evaluates when the watermark
// (max event time seen in input order) crosses a multiple of
// cluster.interval, i.e. at one specific input line whatever the chunking.
//
// State: fingerprints of shared attributes -- system prompt, prompt suffix
// (the fixed tail of a skeleton), user agent, client IP -- each with its
// request/hit counters and up to kMaxMembers member accounts (those that
// sent a harvesting request carrying it). A fingerprint is only created by a
// harvesting request, so ordinary traffic only costs lookups. Bounded:
// cluster.max_fingerprints entries (idle ones evicted first, then the least
// recently hit; both counted), members replaced SpaceSaving-style when full
// (counted), and a member-name table of cluster.max_names (FIFO, counted).
// Members live outside the entry, in a pool of blocks of 4, 16 or 64 (an
// entry moves up a class when its block is full): almost every fingerprint
// has 1-2 members, so creating one touches only a small entry and a 4-block.
//
// A fingerprint is a hydra cluster when >= min_accounts members each sent
// >= member_min_requests requests on it, >= harvest_share of its requests
// hit a harvesting rule, and its hit requests have long outputs. Each member
// whose own share and outputs also qualify gets its own alert.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "detect/account_state.hpp"
#include "detect/alert.hpp"
#include "detect/detector_config.hpp"
#include "detect/flat_index.hpp"

namespace ds {

struct ClusterCounters {
  uint64_t fingerprints_created = 0;
  uint64_t fingerprints_evicted_idle = 0;
  uint64_t fingerprints_evicted_lru = 0;
  uint64_t members_replaced = 0;
  uint64_t names_evicted = 0;
  uint64_t evaluations = 0;
  uint64_t clusters_flagged = 0;  // (fingerprint, evaluation) pairs that qualified
  uint64_t member_alerts = 0;
  // Lines not written because the other stage already alerted the account
  // within detector.suppress (and the severity did not escalate).
  uint64_t cross_suppressed = 0;
  uint64_t alerted_evicted = 0;  // recent-alert records dropped (FIFO, cap cluster.max_names)
};

// One flagged member, for the ranked report.
struct ClusterFlag {
  std::string account;
  double score = 0;
  AlertCluster cluster;
  std::vector<AlertReason> reasons;
  int64_t first_alert_ms = 0;
};

class ClusterStage {
 public:
  static constexpr uint32_t kMaxMembers = 64;
  enum FpKind : uint32_t { kSystem = 0, kSuffix = 1, kUserAgent = 2, kIp = 3, kKinds = 4 };

  ClusterStage(const DetectorConfig& cfg, const std::vector<std::string>& categories);

  // All events of one batch, in input order; alerts carry (seq, line).
  // `out` may already hold the account detectors' alerts for this batch
  // (those without cluster info whose seq is `seq`):
  // suppression is per account across both stages (DESIGN: repeats for one
  // account are suppressed for detector.suppress), so a shard alert for an
  // account that either stage alerted within the interval is removed from
  // `out` unless it escalates warning -> critical, and the cluster stage
  // skips accounts a shard alerted likewise. Decided in input-line order
  // (shard alerts of line L count before a cluster evaluation at line L),
  // so the result does not depend on chunking or threads.
  void observe(const EventBatch& b, uint64_t seq, std::vector<Alert>& out);
  // End of input: one last evaluation, positioned after every input line.
  void finish(uint64_t seq, std::vector<Alert>& out);

  const ClusterCounters& counters() const { return counters_; }
  uint64_t fingerprints() const { return index_.size(); }
  uint64_t memory_bytes() const;
  std::vector<ClusterFlag> flagged() const;

  static const char* kind_name(uint32_t k);
  const DetectorConfig& config() const { return cfg_; }
  const std::vector<std::string>& categories() const { return categories_; }

  // Checkpoints (detect/state_io.cpp).
  void save_state(class StateWriter& w) const;
  bool load_state(class StateReader& r, std::string& err);

 private:
  struct Member {
    uint64_t account = 0;
    uint32_t requests = 0, hits = 0;
    uint32_t out_n = 0;
    uint32_t name = 0xFFFFFFFFu;  // slot in names_ (validated by hash)
    uint64_t out_tokens = 0;
  };
  // Member blocks: block b of class c is kBlockSize[c] members at
  // pool_[c][b * kBlockSize[c]]. Each live entry owns one block, so a class
  // never holds more than cluster.max_fingerprints blocks.
  static constexpr uint32_t kClasses = 3;
  static constexpr std::array<uint32_t, kClasses> kBlockSize = {4, 16, kMaxMembers};
  // One cache line: everything a request on the fingerprint touches.
  struct alignas(64) Entry {
    uint64_t key = 0;
    int64_t last_hit_ms = 0;
    uint64_t requests = 0, hits = 0, out_tokens = 0, out_n = 0;
    uint32_t lru_prev = 0xFFFFFFFFu, lru_next = 0xFFFFFFFFu;
    uint32_t block = 0;  // its members: block `block` of class `size_class`
    uint8_t kind = 0;
    uint8_t nmembers = 0;  // <= kMaxMembers
    uint8_t size_class = 0;
  };
  static_assert(sizeof(Entry) == 64 && kMaxMembers <= 255);
  struct Name {
    uint64_t hash = 0;
    std::string id;
    int64_t last_alert_ms = INT64_MIN;
    std::array<std::array<char, 64>, 2> samples{};
    std::array<uint8_t, 2> sample_len{};
    uint8_t sample_next = 0;
    // Report.
    bool flagged = false;
    double score = 0;
    int64_t first_alert_ms = 0;
    uint64_t cluster_key = 0;
  };
  // Last alert line written for an account by either stage (suppression).
  struct Recent {
    uint64_t hash = 0;
    int64_t ms = INT64_MIN;
    bool critical = false;
  };
  struct Candidate {
    uint64_t account;
    uint32_t entry;
    uint32_t member;
    uint32_t size;
  };

  Member* members(const Entry& e) {
    return pool_[e.size_class].data() + size_t{e.block} * kBlockSize[e.size_class];
  }
  const Member* members(const Entry& e) const {
    return pool_[e.size_class].data() + size_t{e.block} * kBlockSize[e.size_class];
  }
  uint32_t alloc_block(uint32_t c);
  void free_block(const Entry& e) { pool_free_[e.size_class].push_back(e.block); }
  // Moves a full entry to the next class, its members copied in order.
  void grow(Entry& e);
  void touch_event(const Event& ev, const EventBatch& b);
  uint32_t create(uint64_t key, uint32_t kind, int64_t now);
  void unlink(uint32_t s);
  void push_front(uint32_t s);
  void evict(uint32_t s);
  uint32_t name_slot(uint64_t hash, std::string_view id);
  void evaluate(int64_t now, uint64_t seq, uint32_t line, std::vector<Alert>& out);
  // May a line for `hash` at `ms` with this severity be written?
  bool may_alert(uint64_t hash, int64_t ms, bool critical) const;
  void record_alert(uint64_t hash, int64_t ms, bool critical);
  void apply_shard_alert(Alert& a);

  DetectorConfig cfg_;
  std::vector<std::string> categories_;
  uint32_t harvest_mask_ = 0;
  FlatIndex index_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;
  std::array<std::vector<Member>, kClasses> pool_;
  std::array<std::vector<uint32_t>, kClasses> pool_free_;  // free blocks, per class
  // Slots hit (or created) since the last evaluation, possibly repeated or
  // since evicted: evaluate() looks at these instead of every slot.
  std::vector<uint32_t> dirty_;
  uint32_t head_ = 0xFFFFFFFFu, tail_ = 0xFFFFFFFFu;
  FlatIndex name_index_;
  std::vector<Name> names_;
  uint64_t name_next_ = 0;  // FIFO replacement cursor once full
  int64_t watermark_ = INT64_MIN;
  int64_t last_eval_ = INT64_MIN;     // boundary index of the last evaluation
  int64_t prev_eval_ms_ = INT64_MIN;  // watermark at the last evaluation
  FlatIndex recent_index_;
  std::vector<Recent> recent_;
  uint64_t recent_next_ = 0;        // FIFO replacement cursor once full
  std::vector<Candidate> cand_;  // scratch, reused
  // Scratch of evaluate(): the members listed in alerts of one entry,
  // listed_names_[begin, end), computed once per entry and evaluation.
  struct Listed {
    uint32_t entry, begin, end;
  };
  std::vector<Listed> listed_;
  std::vector<const std::string*> listed_names_;
  std::vector<uint32_t> shard_idx_;  // scratch: this batch's shard alerts in `out`
  ClusterCounters counters_;
};

}  // namespace ds
