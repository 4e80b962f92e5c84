// KafkaSource: a Kafka consumer-group member (librdkafka) as a ChunkProducer.
//
// - Message value = one JSON line or several newline-separated ones; many
//   messages are copied back to back into one padded chunk (a '\n' is added
//   after a value that lacks one). The key (when present) is the account the
//   producer partitioned by; detection takes the account from the record.
//   A message larger than max_line_bytes is skipped whole and counted as a
//   line_too_long error.
// - Positions: for every partition whose records reached the pipeline, the
//   offset after the last such record. positions() is read while the
//   pipeline's reader is paused at a drained checkpoint barrier, so it
//   describes exactly the records the detector state includes.
// - Delivery: enable.auto.commit=false; commit() (called after the checkpoint
//   with the detector state is on disk) commits those positions for the
//   partitions currently assigned. A crash replays from the last commit.
// - Rebalancing (eager protocol): on assignment of a partition the start
//   offset is planned by plan_partition_start(): continue at our own position
//   when our state already covers the committed offset; otherwise re-read the
//   partition from max(our position, first offset with timestamp >= now -
//   rebuild) up to the committed offset as *replay* -- it rebuilds the
//   accounts' state, and the alerts of those records (already written by the
//   previous owner) are suppressed through the ReplayLedger -- then go live.
// Not thread-safe: next() on the pipeline reader thread; restore() before it
// runs; positions()/commit() while it is paused; snapshots from any thread.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "ingest/replay_gate.hpp"
#include "source/chunk_producer.hpp"

namespace ds {

struct KafkaOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic;
  std::string group;
  std::vector<std::pair<std::string, std::string>> properties;  // extra librdkafka settings (-X k=v), applied last
  size_t chunk_bytes = 4u << 20;
  size_t max_line_bytes = 8u << 20;
  int64_t rebuild_ms = 24LL * 3600 * 1000;  // replay span for a partition gained without state (by message timestamp); < 0 = all retained
  std::chrono::milliseconds idle_return{100};  // next() returns idle after this long without messages
  std::chrono::milliseconds linger{20};        // a partly filled chunk is handed over after this long without messages
  uint32_t max_partitions = 4096;              // positions are tracked for partitions [0, max)
  // With a handover ledger: message keys (accounts) remembered over all
  // partitions, so an account can be disowned when its partition goes. At
  // the cap the largest partition's set is forgotten (counted in
  // handover_keys_dropped; those accounts then fall back to the rebuild).
  uint64_t max_handover_keys = 1u << 20;
};

// Where to start a newly assigned partition. Offsets < 0 mean unknown.
struct PartitionPlan {
  int64_t start = 0;       // first offset to fetch
  int64_t replay_end = -1; // records in [start, replay_end) are replay (alerts suppressed); -1 = none
};
// known_pos: our own position (state covers records < known_pos), or -1.
// committed: the group's committed offset, or -1 (none). low/high: the
// partition's watermarks. rebuild_start: first offset whose timestamp is
// within the rebuild span (or -1 = none is: high).
PartitionPlan plan_partition_start(int64_t known_pos, int64_t committed, int64_t low, int64_t high,
                                   int64_t rebuild_start);

struct KafkaPartitionStatus {
  int32_t partition = 0;
  bool assigned = false;
  int64_t position = -1;    // next offset after the records handed to the pipeline (-1 = none)
  int64_t high = -1;        // high watermark as last seen (-1 = unknown)
  int64_t replay_end = -1;  // replaying up to this offset (-1 = not replaying)
  int64_t lag() const { return (high >= 0 && position >= 0 && high > position) ? high - position : 0; }
};

struct KafkaCounters {
  uint64_t messages = 0;
  uint64_t replayed_messages = 0;
  uint64_t rebalances = 0;        // assignments received
  uint64_t partitions_rebuilt = 0;  // assignments that needed a replay
  uint64_t oversized_messages = 0;
  uint64_t consumer_errors = 0;
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  // Per-partition sets of message keys (accounts) kept for handovers that
  // were cleared at their cap (a later handover then misses those accounts).
  uint64_t handover_keys_dropped = 0;
  // Message keys remembered now over all partitions (capped by
  // KafkaOptions::max_handover_keys). A gauge, not a counter.
  uint64_t handover_keys = 0;
};

class KafkaSource final : public ChunkProducer {
 public:
  // Creates the consumer and subscribes (the group join happens in next()).
  // With `handover`: the message keys (accounts) of each partition are
  // tracked, and those of partitions lost in a rebalance reported there.
  static Result<std::unique_ptr<KafkaSource>> create(KafkaOptions opt, ReplayLedger* ledger,
                                                     HandoverLedger* handover = nullptr);
  ~KafkaSource() override;
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Before the first next(): positions from a checkpoint (partition, offset).
  void restore(const std::vector<std::pair<int32_t, int64_t>>& positions);
  Produce next(Chunk& out) override;
  // Reader paused: every partition with a known position.
  std::vector<std::pair<int32_t, int64_t>> positions() const;
  // Reader paused: synchronous commit of the positions of assigned, non-replaying partitions.
  Result<void> commit();
  // Chunks handed over so far (== the pipeline's next sequence number).
  uint64_t chunks_produced() const { return chunks_; }
  // Leave the group (after the pipeline has stopped).
  void close();

  // Snapshots, any thread (refreshed by the reader about once a second).
  std::vector<KafkaPartitionStatus> status() const;
  KafkaCounters counters() const;

 private:
  struct Impl;
  explicit KafkaSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  uint64_t chunks_ = 0;
};

// "host:port[,host:port...]" sanity check for --brokers (non-empty parts with a port).
bool valid_broker_list(const std::string& s);

}  // namespace ds
