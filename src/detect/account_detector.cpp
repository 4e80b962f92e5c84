#include "detect/account_detector.hpp"

#include <algorithm>
#include <cmath>

#include "core/hash.hpp"

namespace ds {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

AccountDetector::AccountDetector(const DetectorConfig& cfg, const std::vector<std::string>& categories)
    : cfg_(cfg),
      table_(cfg.max_accounts / std::max<uint32_t>(1, cfg.shards) + 1, cfg.buckets,
             cfg.account_idle_seconds * 1000) {
  size_t n = std::min<size_t>(categories.size(), kTrackedCategories);
  for (size_t i = 0; i < n; ++i) {
    detector_names_.push_back(categories[i] + "_rate");
    double thr = cfg.default_threshold, w = 1.0;
    for (const auto& c : cfg.categories) {
      if (c.category == categories[i]) {
        thr = c.threshold;
        w = c.weight;
      }
    }
    thresholds_.push_back(thr);
    weights_.push_back(w);
  }
}

void AccountDetector::advance_ring(AccountState& a, WindowBucket* ring, int64_t bucket) {
  const int64_t n = cfg_.buckets;
  if (bucket <= a.newest_bucket) return;
  // Expire every slot that now falls out of [bucket-n+1, bucket].
  int64_t from = (a.newest_bucket == INT64_MIN || bucket - a.newest_bucket >= n) ? bucket - n + 1 : a.newest_bucket + 1;
  for (int64_t b = from; b <= bucket; ++b) {
    WindowBucket& slot = ring[static_cast<uint64_t>(((b % n) + n) % n)];
    if (slot.index != INT64_MIN) a.window.sub(slot.counts);
    slot = WindowBucket{};
    slot.index = b;
  }
  a.newest_bucket = bucket;
}

void AccountDetector::observe(const Event& ev, const EventBatch& batch, uint64_t seq, std::vector<Alert>& out) {
  if (ev.time_ms > watermark_ms_) watermark_ms_ = ev.time_ms;
  AccountState& a = table_.touch(ev.account_hash, batch.view(ev.account), watermark_ms_);
  if (a.lifetime_requests == 0) a.first_seen_ms = ev.time_ms;
  ++a.lifetime_requests;
  a.last_seen_ms = std::max(a.last_seen_ms, ev.time_ms);

  const int64_t bucket = floor_div(ev.time_ms, cfg_.bucket_seconds * 1000);
  WindowBucket* ring = table_.ring(a);
  advance_ring(a, ring, bucket);
  if (bucket <= a.newest_bucket - static_cast<int64_t>(cfg_.buckets)) {
    ++a.late_events;  // too old for the window: lifetime counts only
    return;
  }
  WindowBucket& slot = ring[static_cast<uint64_t>(((bucket % cfg_.buckets) + cfg_.buckets) % cfg_.buckets)];
  WindowCounts delta;
  delta.requests = 1;
  delta.hit_requests = ev.category_bits != 0;
  for (uint32_t c = 0; c < kTrackedCategories; ++c) delta.category[c] = (ev.category_bits >> c) & 1u;
  delta.prompt_tokens = ev.prompt_tokens > 0 ? static_cast<uint64_t>(ev.prompt_tokens) : 0;
  delta.completion_tokens = ev.completion_tokens > 0 ? static_cast<uint64_t>(ev.completion_tokens) : 0;
  slot.counts.add(delta);
  a.window.add(delta);
  if (ev.category_bits != 0) a.add_sample(batch.view(ev.request_id));

  evaluate(a, ev, seq, out);
}

void AccountDetector::evaluate(AccountState& a, const Event& ev, uint64_t seq, std::vector<Alert>& out) {
  if (a.window.requests < cfg_.min_requests || a.window.hit_requests == 0) return;
  if (a.last_alert_ms != INT64_MIN && ev.time_ms - a.last_alert_ms < cfg_.suppress_seconds * 1000) return;

  // Each category whose share of window requests crosses its threshold is a
  // reason; the score combines the reasons as independent evidence.
  double keep = 1.0;
  Alert alert;
  for (size_t c = 0; c < detector_names_.size(); ++c) {
    double share = static_cast<double>(a.window.category[c]) / a.window.requests;
    if (share < thresholds_[c]) continue;
    double strength = std::min(1.0, share / (2.0 * thresholds_[c])) * weights_[c];
    keep *= 1.0 - std::min(1.0, strength);
    alert.reasons.push_back({detector_names_[c], share, thresholds_[c]});
  }
  if (alert.reasons.empty()) return;
  double score = 1.0 - keep;
  if (score < cfg_.alert_score) return;

  alert.seq = seq;
  alert.line_in_chunk = ev.line_in_chunk;
  alert.time_ms = ev.time_ms;
  alert.account = a.id;
  alert.score = score;
  alert.critical = score >= cfg_.critical_score;
  alert.requests = a.window.requests;
  for (size_t i = 0; i < kSampleIds; ++i) {
    size_t k = (a.sample_next + i) % kSampleIds;  // oldest first
    if (a.sample_len[k]) alert.sample_request_ids.emplace_back(a.sample_ids[k].data(), a.sample_len[k]);
  }
  // Stable id: account, detector set and window number. Replaying the same
  // data yields the same id, so an at-least-once restart cannot add alerts.
  uint64_t h = hash_str(a.id);
  for (const auto& r : alert.reasons) h = hash_combine(h, hash_str(r.detector));
  h = hash_combine(h, static_cast<uint64_t>(floor_div(ev.time_ms, cfg_.window_seconds() * 1000)));
  char buf[17];
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) buf[i] = hex[(h >> (60 - 4 * i)) & 0xF];
  buf[16] = 0;
  alert.id = buf;

  a.last_alert_ms = ev.time_ms;
  ++a.alerts;
  a.max_score = std::max(a.max_score, score);
  out.push_back(std::move(alert));
}

}  // namespace ds
