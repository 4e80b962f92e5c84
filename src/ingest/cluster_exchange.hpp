// ClusterExchange: cross-instance hydra-cluster detection for `consume`.
//
// Accounts are partitioned over instances, but a hydra cluster's members
// land on different partitions, so no instance's own cross-account stage
// sees enough of them. Each instance therefore publishes, for every event it
// processes live (never replayed ones), a compact fingerprint record -- time,
// account (hash and name), system-prompt / prompt-suffix / user-agent /
// client-IP hashes, harvesting rule bits, completion tokens, n, tool turns:
// ~70 bytes instead of the ~2 KB log line -- to one single-partition topic.
// Every instance reads that whole topic, in the same order, into its own
// ClusterStage (detect/cluster_stage.hpp, unchanged): all instances hold the
// same global cluster view. A member alert is written by the instance that
// processes the member's account (it saw the account in its own batches).
// One computed for an account that is not ours is held (bounded, FIFO) and
// written if the account becomes ours: an instance killed before the
// evaluation that flags its accounts writes nothing, and the survivor that
// takes over its partitions replays them, making those accounts its own.
//
// Cost: every instance reads all fingerprint records (N instances x ~70 B
// per event) and keeps one global ClusterStage (bounded by cluster.*).
// Ordering: the topic has one partition, so every instance feeds the stage
// the same sequence; evaluation points follow the topic's order, not a
// single scan's input order (cluster alert ids can differ from a `scan` of
// the same data; the flagged members are the same).
// Restart: the stage is rebuilt from the topic (from --rebuild ago, or all
// retained), with alerts suppressed up to the topic's end at startup.
// Records of a partition re-processed after a crash (or by both owners of a
// partition in handover) are published again; readers skip a copy of one of
// the last max_record_ids records with a request id they received
// (repeated_record), so only older copies inflate counts (never lose any).
// Thread use: everything on the pipeline's collector thread (on_batch,
// on_tick, checkpoint hooks).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "core/result.hpp"
#include "detect/detector_config.hpp"
#include "sink/alert_sink.hpp"

namespace ds {

struct ClusterExchangeOptions {
  std::string brokers;
  std::string topic;  // one partition
  std::string reader_group = "distillscan-cluster-exchange";  // group.id of the reader (assign only, never commits)
  std::vector<std::pair<std::string, std::string>> properties;  // extra librdkafka settings
  int64_t rebuild_ms = 24LL * 3600 * 1000;  // < 0 = all retained
  uint64_t max_local_accounts = 1u << 20;   // accounts this instance processes (cap; cleared when full, counted)
  size_t max_message_bytes = 512 * 1024;    // records per Kafka message
  size_t max_held_alerts = 4096;            // member alerts held for accounts not ours (FIFO beyond)
  size_t max_written_ids = 1u << 17;        // alert ids remembered as written (FIFO beyond)
  size_t max_record_ids = 1u << 18;         // records remembered to drop a repeat (FIFO beyond; 0 = off)
};

struct ClusterExchangeCounters {
  uint64_t records_published = 0;
  uint64_t records_received = 0;
  // Records received again (a copy: the same request id, account, time and
  // content), published twice, e.g. processed again after a crash or by
  // both owners of a partition in handover. Not counted twice by the stage.
  uint64_t records_repeated = 0;
  uint64_t record_ids_now = 0;      // records remembered for that (capped: max_record_ids)
  uint64_t record_ids_evicted = 0;  // remembered records dropped beyond the cap (oldest first)
  uint64_t messages_refused = 0;  // another version or detector config / rule categories
  uint64_t alerts_written = 0;
  uint64_t alerts_not_ours = 0;   // members processed by another instance
  uint64_t alerts_suppressed_catchup = 0;
  uint64_t alerts_held = 0;          // not ours when computed: held in case the account becomes ours
  uint64_t alerts_claimed = 0;       // held ones written when the account became ours (partition taken over)
  uint64_t alerts_held_evicted = 0;  // dropped beyond max_held_alerts (oldest first)
  uint64_t alerts_held_now = 0;
  uint64_t alert_ids_published = 0;     // ids of alerts this instance wrote, sent to the topic
  uint64_t alert_ids_received = 0;      // ids read from the topic (every instance's)
  uint64_t duplicates_suppressed = 0;   // alerts not written: their id was written already
  uint64_t alert_ids_evicted = 0;       // remembered ids dropped beyond max_written_ids (oldest first)
  uint64_t alert_ids_now = 0;
  uint64_t alerts_deferred = 0;     // alerts due, written once the topic was read to its end as of then
  uint64_t alerts_due_waiting = 0;  // poll() calls that left alerts due for the next one (topic slow)
  uint64_t watermark_errors = 0;    // the topic's end could not be queried (written without look-ahead)
  uint64_t accounts_disowned = 0;   // accounts no longer ours: their partition moved to another instance
  uint64_t evaluations = 0;       // global stage evaluations
  uint64_t idle_evaluations = 0;  // of which: after records, once the topic was quiet for 1 s
  uint64_t clusters_flagged = 0;  // (fingerprint, evaluation) pairs that qualified
  uint64_t local_accounts = 0;
  uint64_t local_cleared = 0;
  uint64_t produce_errors = 0;
  uint64_t fingerprints = 0;
};

// Record codec (exposed for tests). Appends one record for `ev`.
void encode_fingerprint_record(const Event& ev, const EventBatch& b, std::string& out);
// Header of a message of `count` records under `config_hash` (kind 0:
// fingerprint records; kind 1: ids of written alerts, 8 bytes each).
void encode_fingerprint_header(uint64_t config_hash, uint32_t count, std::string& out, uint16_t kind = 0);
// Kind of a message under `config_hash`, -1 when malformed or foreign.
int exchange_message_kind(std::string_view msg, uint64_t config_hash);
// Decodes a message into `b` (reset first). False on a malformed or foreign message.
bool decode_fingerprint_message(std::string_view msg, uint64_t config_hash, EventBatch& b);

class ClusterExchange {
 public:
  static Result<std::unique_ptr<ClusterExchange>> create(ClusterExchangeOptions opt, const DetectorConfig& cfg,
                                                         const std::vector<std::string>& categories);
  ~ClusterExchange();
  ClusterExchange(const ClusterExchange&) = delete;
  ClusterExchange& operator=(const ClusterExchange&) = delete;

  // A batch of this instance: note its accounts as ours; publish its records
  // unless it is replayed (the previous owner published those already).
  // A member alert for an account not ours is held (bounded) and written if
  // the account becomes ours later (its partition taken over, e.g. after its
  // owner died before writing it).
  void publish(const EventBatch& b, bool records);
  // Accounts whose partition moved to another instance (HandoverLedger,
  // replay_gate.hpp): no longer ours, so their member alerts are held, not
  // written. Without this both the old and the new owner of a partition
  // handed over between live instances write the next member alert of its
  // accounts: every instance evaluates the same point of the topic at about
  // the same moment, before the other's written id can arrive.
  void disown(const std::vector<uint64_t>& accounts);
  // Read what the instances published and write the global stage's alerts
  // for our accounts to `sink`. An alert (computed, or claimed from the held
  // ones) is written only once this instance has read the topic up to its end
  // as of when the alert became due, and if its account is still ours then:
  // an id another instance wrote before that moment is seen first (a
  // previous owner still live, an instance behind us in the topic). poll()
  // reads on for up to 2 s for that; alerts still short of it wait.
  // `alerts_out` (optional) flushes and syncs the alerts file and says how that went:
  // called after each round of writes, so that their ids go out at once (see
  // note_written) rather than after the 2 s.
  void poll(AlertSink& sink, const std::function<AlertsOut()>& alerts_out = {});
  // Wait for published records to be acknowledged (before offsets are committed).
  Result<void> flush();
  // Written alert ids, shared through the topic: an alert whose id any
  // instance already wrote (this one too, before a restart within the
  // rebuild window) is not written again, so a takeover after a crash does
  // not repeat what the dead instance wrote. note_written() is called right
  // after an alert is handed to the sinks; flush_ids(written), once the
  // alerts file is flushed and fdatasync'ed (after each batch's alerts and
  // each poll(): JsonlAlertSink::durable_state), sends the ids noted since
  // and waits for them to be acknowledged.
  // flush_ids(held) (a full disk: the alerts are written later) keeps them
  // for the next call; past kMaxHeldIds they are taken for written here
  // without being sent. flush_ids(lost) (an alert was dropped, or nothing is
  // synced any more) drops them unsent: an id in the topic whose alert was
  // never written (or not yet on disk when the host crashes) would suppress
  // that alert on every instance, restarts included. Left: a crash between
  // writing an alert and its id reaching the broker, and ids not sent, whose
  // alerts may then be written twice.
  static constexpr size_t kMaxHeldIds = 4096;
  bool already_written(const Alert& a);  // counts a duplicate when true
  void note_written(const Alert& a);
  void flush_ids(AlertsOut alerts_out);
  bool ids_waiting() const;  // ids noted and not settled yet: flush_ids() has work
  // Counters; counters() on the collector thread (the one calling poll()),
  // snapshot() from any thread (as of the last poll()).
  ClusterExchangeCounters counters() const;
  ClusterExchangeCounters snapshot() const;

 private:
  struct Impl;
  explicit ClusterExchange(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds
