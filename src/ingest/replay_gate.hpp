// ReplayLedger + ReplayFilterSink: alert suppression for replayed input.
//
// When a Kafka partition is assigned to this instance without (complete)
// local state, its accounts are rebuilt by re-reading the partition's recent
// past (kafka_source.hpp). Those records were processed -- and their alerts
// written -- by the previous owner, so the alerts they trigger here must not
// be written again. The source never mixes replayed and live records in one
// chunk and marks the sequence numbers of replay chunks in the ledger; every
// alert carries the sequence number of the chunk of its triggering line, so
// the sink drops exactly the alerts of replayed lines.
//
// Thread use: mark() from the pipeline's reader thread, replayed()/write()
// from the collector; alerts reach the sink in sequence order.
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "sink/alert_sink.hpp"

namespace ds {

class ReplayLedger {
 public:
  explicit ReplayLedger(size_t max_ranges = 65536) : max_ranges_(max_ranges) {}
  // Chunk `seq` holds replayed records. Sequence numbers are marked in increasing order.
  void mark(uint64_t seq) {
    std::lock_guard lk(mu_);
    if (!ranges_.empty() && ranges_.back().second + 1 == seq) {
      ranges_.back().second = seq;
      return;
    }
    ranges_.emplace_back(seq, seq);
    if (ranges_.size() > max_ranges_) {  // bounded; an early pop only re-emits a known alert id
      ranges_.pop_front();
      overflow_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // Queried with non-decreasing `seq` (the collector's order).
  bool replayed(uint64_t seq) {
    std::lock_guard lk(mu_);
    while (!ranges_.empty() && ranges_.front().second < seq) ranges_.pop_front();
    return !ranges_.empty() && ranges_.front().first <= seq;
  }
  // Everything up to (excluding) `seq` has been collected: forget it.
  void collected_before(uint64_t seq) {
    std::lock_guard lk(mu_);
    while (!ranges_.empty() && ranges_.front().second < seq) ranges_.pop_front();
  }
  size_t ranges() const {
    std::lock_guard lk(mu_);
    return ranges_.size();
  }
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<uint64_t, uint64_t>> ranges_;
  size_t max_ranges_;
  std::atomic<uint64_t> overflow_{0};
};

class ReplayFilterSink final : public AlertSink {
 public:
  ReplayFilterSink(AlertSink& inner, ReplayLedger& ledger) : inner_(inner), ledger_(ledger) {}
  void write(const Alert& alert) override {
    if (ledger_.replayed(alert.seq)) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    inner_.write(alert);
  }
  Result<void> flush() override { return inner_.flush(); }
  uint64_t suppressed() const { return suppressed_.load(std::memory_order_relaxed); }

 private:
  AlertSink& inner_;
  ReplayLedger& ledger_;
  std::atomic<uint64_t> suppressed_{0};
};

// HandoverLedger: accounts of partitions this instance lost in a rebalance.
//
// The cross-instance cluster stage (cluster_exchange.hpp) writes a member
// alert only for accounts it processes ("ours"). When a partition moves to
// another live instance, its accounts must stop being ours here, or both
// instances write the alert of the next evaluation that flags one of them:
// every instance evaluates the same fingerprint stream at the same point,
// each before the other's written id can reach it. The source records the
// (hashed) message keys -- the account the producer partitioned by -- of each
// assigned partition; on an assignment that lacks a partition it had, the
// keys go here with the sequence number of the next chunk: chunks before it
// may still hold that partition's records, none after it do.
// Thread use: lost() from the reader thread, take() from the collector.
class HandoverLedger {
 public:
  void lost(uint64_t from_seq, std::vector<uint64_t> accounts) {
    if (accounts.empty()) return;
    std::lock_guard lk(mu_);
    lost_.emplace_back(from_seq, std::move(accounts));
    pending_.store(true, std::memory_order_release);
  }
  // Accounts lost before chunk `next_seq` (every chunk < next_seq collected), appended to `out`.
  bool take(uint64_t next_seq, std::vector<uint64_t>& out) {
    if (!pending_.load(std::memory_order_acquire)) return false;
    std::lock_guard lk(mu_);
    bool any = false;
    while (!lost_.empty() && lost_.front().first <= next_seq) {
      out.insert(out.end(), lost_.front().second.begin(), lost_.front().second.end());
      lost_.pop_front();
      any = true;
    }
    pending_.store(!lost_.empty(), std::memory_order_release);
    return any;
  }

 private:
  std::mutex mu_;
  std::deque<std::pair<uint64_t, std::vector<uint64_t>>> lost_;
  std::atomic<bool> pending_{false};
};

}  // namespace ds
