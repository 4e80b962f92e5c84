#include "detect/state_io.hpp"

#include <algorithm>

#include "detect/state_codec.hpp"

namespace ds {
namespace {

constexpr char kMagic[8] = {'D', 'S', 'D', 'E', 'T', 'S', 'T', '\0'};
constexpr uint32_t kTagShard = 0x44524853;    // "SHRD"
constexpr uint32_t kTagCluster = 0x54534C43;  // "CLST"
constexpr uint32_t kNil = 0xFFFFFFFFu;

// Every field of WindowCounts, in a fixed order (writer or reader).
template <class C, class F>
void visit_counts(C& c, F& f) {
  f(c.requests);
  f(c.hit_requests);
  f(c.category);
  f(c.prompt_tokens);
  f(c.completion_tokens);
  f(c.hit_output_tokens);
  f(c.hit_with_usage);
  f(c.output_tokens);
  f(c.with_usage);
  f(c.top_suffix);
  f(c.n_multi);
  f(c.logprobs);
  f(c.top_logprobs_hi);
  f(c.bias_big);
  f(c.tiny_output);
  f(c.single_turn);
  f(c.tool_turns);
}

// Every field of AccountState except hash and id.
template <class A, class F>
void visit_account(A& a, F& f) {
  f(a.first_seen_ms);
  f(a.last_seen_ms);
  f(a.newest_bucket);
  f(a.lifetime_requests);
  f(a.late_events);
  visit_counts(a.window, f);
  f(a.epoch);
  visit_counts(a.epochs[0], f);
  visit_counts(a.epochs[1], f);
  f(a.prompts);
  f(a.near_prompts);
  f(a.temp_bins);
  f(a.epoch_cur);
  f(a.suffix_cand);
  f(a.suffix_votes);
  f(a.ips);
  f(a.keys);
  f(a.user_agents);
  f(a.hour_hist);
  f(a.gaps);
  f(a.gap_mean);
  f(a.gap_m2);
  f(a.last_alert_ms);
  f(a.alerts);
  f(a.max_score);
  f(a.last_score);
  f(a.last_detectors);
  f(a.sample_ids);
  f(a.sample_len);
  f(a.sample_next);
}

bool samples_ok(const char* data, uint8_t len) { return len <= kSampleIdBytes && state_utf8_ok({data, len}); }

void write_config(StateWriter& w, const DetectorConfig& c, const std::vector<std::string>& cats) {
  w(c.bucket_seconds);
  w(c.buckets);
  w(c.horizon_seconds);
  w(c.min_requests);
  w(c.default_threshold);
  w(static_cast<uint64_t>(c.categories.size()));
  for (const auto& t : c.categories) {
    w.str(t.category);
    w(t.threshold);
    w(t.weight);
  }
  w(static_cast<uint64_t>(c.weights.size()));
  for (const auto& [k, v] : c.weights) {
    w.str(k);
    w(v);
  }
  w(c.critical_score);
  w(c.alert_score);
  w(c.suppress_seconds);
  const auto& H = c.harvest;
  w(H.min_hits), w(H.long_min_hits), w(H.output_tokens), w(H.mixed_share), w(H.template_share);
  w(H.template_output_tokens), w(H.output_input_ratio), w(H.near_duplicate_share);
  const auto& P = c.logit_probe;
  w(P.top_logprobs), w(P.bias_entries), w(P.max_tokens), w(P.share), w(P.repetition), w(P.min_requests);
  w(P.min_signals);
  w.str(c.extraction.category);
  w(c.extraction.min_hits);
  const auto& C = c.corroboration;
  w(C.n_share), w(C.temperatures), w(C.diversity), w(C.flat_hours), w(C.rate_per_hour), w(C.ips), w(C.keys);
  const auto& K = c.cluster;
  w(K.enabled), w(K.min_accounts), w(K.harvest_share), w(K.output_tokens), w(K.long_output_tokens);
  w(K.member_min_requests), w(K.member_share), w(K.interval_seconds), w(K.idle_seconds), w(K.max_fingerprints);
  w(K.max_names), w(K.members_listed);
  w(c.shards), w(c.max_accounts), w(c.account_idle_seconds), w(c.max_account_bytes);
  w(static_cast<uint64_t>(cats.size()));
  for (const auto& s : cats) w.str(s);
}

}  // namespace

uint64_t detector_config_hash(const DetectorConfig& cfg, const std::vector<std::string>& categories) {
  std::string buf;
  StateWriter w(buf);
  w(kDetectorStateVersion);
  write_config(w, cfg, categories);
  return hash_str(buf);
}

// ---------------------------------------------------------------- AccountTable

void AccountTable::save_state(StateWriter& w) const {
  w(max_);
  w(buckets_per_);
  w(counters_.created);
  w(counters_.evicted_idle);
  w(counters_.evicted_lru);
  w(static_cast<uint64_t>(index_.size()));
  // Most recent first; restored slots are renumbered in this order (slot
  // numbers never influence output: iteration is by LRU order or by key).
  for (uint32_t s = head_; s != kNil; s = lru_[s].next) {
    const AccountState& a = slots_[s];
    w(a.hash);
    w.str(a.id);
    visit_account(a, w);
    const WindowBucket* ring = &buckets_[uint64_t(s) * buckets_per_];
    for (uint32_t b = 0; b < buckets_per_; ++b) {
      w(ring[b].index);
      visit_counts(ring[b].counts, w);
    }
  }
}

bool AccountTable::load_state(StateReader& r, std::string& err) {
  uint64_t max = 0;
  uint32_t buckets = 0;
  r(max);
  r(buckets);
  if (r.ok() && (max != max_ || buckets != buckets_per_)) {
    err = "account table was written with " + std::to_string(max) + " accounts x " + std::to_string(buckets) +
          " buckets per shard, config gives " + std::to_string(max_) + " x " + std::to_string(buckets_per_);
    return false;
  }
  r(counters_.created);
  r(counters_.evicted_idle);
  r(counters_.evicted_lru);
  // Exact encoded size of one account with an empty id: the lower bound per item.
  std::string probe;
  {
    StateWriter pw(probe);
    AccountState e;
    pw(e.hash);
    pw.str(e.id);
    visit_account(e, pw);
    for (uint32_t b = 0; b < buckets_per_; ++b) {
      WindowBucket wb;
      pw(wb.index);
      visit_counts(wb.counts, pw);
    }
  }
  uint64_t n = 0;
  if (!r.count(n, max_, probe.size(), "tracked accounts")) {
    err = r.error();
    return false;
  }
  slots_.assign(static_cast<size_t>(n), AccountState{});
  lru_.assign(static_cast<size_t>(n), Link{});
  buckets_.assign(static_cast<size_t>(n) * buckets_per_, WindowBucket{});
  free_.clear();
  index_.clear();
  index_.reserve(n);
  head_ = tail_ = kNil;
  for (uint32_t s = 0; s < n; ++s) {
    AccountState& a = slots_[s];
    r(a.hash);
    r.str(a.id, std::max(max_id_bytes_, kMinAccountBytes), "account id");
    visit_account(a, r);
    WindowBucket* ring = &buckets_[uint64_t(s) * buckets_per_];
    for (uint32_t b = 0; b < buckets_per_; ++b) {
      r(ring[b].index);
      visit_counts(ring[b].counts, r);
      if (!state_time_ok(ring[b].index)) r.fail("bucket index out of range");
    }
    if (!r.ok()) break;
    if (a.hash == 0 || index_.find(a.hash) != FlatIndex::kNone) {
      r.fail("account hash is zero or repeated");
      break;
    }
    bool ok = state_utf8_ok(a.id) && state_time_ok(a.first_seen_ms, false) && state_time_ok(a.last_seen_ms, false) &&
              state_time_ok(a.newest_bucket) && state_time_ok(a.epoch) && state_time_ok(a.last_alert_ms) &&
              a.epoch_cur <= 1 && a.sample_next < kSampleIds && a.gap_mean >= 0 && a.gap_m2 >= 0 && a.gaps < (1u << 31) &&
              a.suffix_votes[0] >= 0 && a.suffix_votes[1] >= 0 && a.suffix_votes[0] < (1 << 30) &&
              a.suffix_votes[1] < (1 << 30);
    for (size_t i = 0; ok && i < kSampleIds; ++i) ok = samples_ok(a.sample_ids[i].data(), a.sample_len[i]);
    if (!ok) {
      r.fail("invalid account record #" + std::to_string(s));
      break;
    }
    index_.insert(a.hash, s);
    lru_[s] = {s == 0 ? kNil : s - 1, s + 1 == n ? kNil : s + 1};
  }
  if (!r.ok()) {
    err = r.error();
    return false;
  }
  if (n) {
    head_ = 0;
    tail_ = static_cast<uint32_t>(n - 1);
  }
  return true;
}

// ------------------------------------------------------------- AccountDetector

void AccountDetector::save_state(StateWriter& w) const {
  w(watermark_ms_);
  table_.save_state(w);
}

bool AccountDetector::load_state(StateReader& r, std::string& err) {
  r(watermark_ms_);
  if (r.ok() && !state_time_ok(watermark_ms_)) r.fail("watermark out of range");
  if (!r.ok()) {
    err = r.error();
    return false;
  }
  return table_.load_state(r, err);
}

// ---------------------------------------------------------------- ClusterStage

void ClusterStage::save_state(StateWriter& w) const {
  w(watermark_), w(last_eval_), w(prev_eval_ms_);
  const auto& c = counters_;
  w(c.fingerprints_created), w(c.fingerprints_evicted_idle), w(c.fingerprints_evicted_lru), w(c.members_replaced);
  w(c.names_evicted), w(c.evaluations), w(c.clusters_flagged), w(c.member_alerts), w(c.cross_suppressed);
  w(c.alerted_evicted);
  // Names in slot order (members refer to them by slot; FIFO cursor).
  w(static_cast<uint64_t>(names_.size()));
  w(name_next_);
  for (const Name& n : names_) {
    w(n.hash);
    w.str(n.id);
    w(n.last_alert_ms);
    w(n.samples);
    w(n.sample_len);
    w(n.sample_next);
    w(n.flagged);
    w(n.score);
    w(n.first_alert_ms);
    w(n.cluster_key);
  }
  w(static_cast<uint64_t>(recent_.size()));
  w(recent_next_);
  for (const Recent& x : recent_) {
    w(x.hash);
    w(x.ms);
    w(x.critical);
  }
  // Fingerprints, most recently hit first; restored slots follow this order.
  w(static_cast<uint64_t>(index_.size()));
  for (uint32_t s = head_; s != kNil; s = entries_[s].lru_next) {
    const Entry& e = entries_[s];
    w(e.key), w(uint32_t{e.kind}), w(uint32_t{e.nmembers}), w(e.last_hit_ms), w(e.requests), w(e.hits), w(e.out_tokens),
        w(e.out_n);
    const Member* mem = members(e);
    for (uint32_t i = 0; i < e.nmembers; ++i) {
      const Member& m = mem[i];
      w(m.account), w(m.requests), w(m.hits), w(m.out_n), w(m.name), w(m.out_tokens);
    }
  }
}

bool ClusterStage::load_state(StateReader& r, std::string& err) {
  auto fail = [&](const std::string& m) {
    r.fail(m);
    err = r.error();
    return false;
  };
  r(watermark_), r(last_eval_), r(prev_eval_ms_);
  if (r.ok() && !(state_time_ok(watermark_) && state_time_ok(last_eval_) && state_time_ok(prev_eval_ms_)))
    return fail("cluster watermark out of range");
  auto& c = counters_;
  r(c.fingerprints_created), r(c.fingerprints_evicted_idle), r(c.fingerprints_evicted_lru), r(c.members_replaced);
  r(c.names_evicted), r(c.evaluations), r(c.clusters_flagged), r(c.member_alerts), r(c.cross_suppressed);
  r(c.alerted_evicted);

  const uint64_t name_cap = std::max<uint64_t>(1, cfg_.cluster.max_names);
  uint64_t nn = 0;
  // A name is at least hash + empty id + fixed fields.
  constexpr size_t kNameMin = 8 + 4 + 8 + 128 + 2 + 1 + 1 + 8 + 8 + 8;
  if (!r.count(nn, name_cap, kNameMin, "cluster member names")) return fail(r.error());
  r(name_next_);
  names_.assign(static_cast<size_t>(nn), Name{});
  name_index_.clear();
  name_index_.reserve(nn);
  for (uint32_t s = 0; s < nn; ++s) {
    Name& n = names_[s];
    r(n.hash);
    r.str(n.id, std::max(cfg_.max_account_bytes, kMinAccountBytes), "member name");
    r(n.last_alert_ms);
    r(n.samples);
    r(n.sample_len);
    r(n.sample_next);
    r(n.flagged);
    r(n.score);
    r(n.first_alert_ms);
    r(n.cluster_key);
    if (!r.ok()) return fail(r.error());
    bool ok = n.hash != 0 && name_index_.find(n.hash) == FlatIndex::kNone && state_utf8_ok(n.id) &&
              state_time_ok(n.last_alert_ms) && state_time_ok(n.first_alert_ms) && n.sample_next <= 1;
    for (size_t i = 0; ok && i < 2; ++i) ok = samples_ok(n.samples[i].data(), n.sample_len[i]);
    if (!ok) return fail("invalid member name #" + std::to_string(s));
    name_index_.insert(n.hash, s);
  }

  uint64_t nr = 0;
  if (!r.count(nr, name_cap, 17, "recent alerts")) return fail(r.error());
  r(recent_next_);
  recent_.assign(static_cast<size_t>(nr), Recent{});
  recent_index_.clear();
  recent_index_.reserve(nr);
  for (uint32_t s = 0; s < nr; ++s) {
    Recent& x = recent_[s];
    r(x.hash), r(x.ms), r(x.critical);
    if (!r.ok()) return fail(r.error());
    if (x.hash == 0 || recent_index_.find(x.hash) != FlatIndex::kNone || !state_time_ok(x.ms))
      return fail("invalid recent-alert record #" + std::to_string(s));
    recent_index_.insert(x.hash, s);
  }

  uint64_t ne = 0;
  constexpr size_t kEntryMin = 8 + 4 + 4 + 8 + 8 * 4;
  if (!r.count(ne, std::max<uint64_t>(1, cfg_.cluster.max_fingerprints), kEntryMin, "fingerprints"))
    return fail(r.error());
  entries_.assign(static_cast<size_t>(ne), Entry{});
  free_.clear();
  for (uint32_t k = 0; k < kClasses; ++k) pool_[k].clear(), pool_free_[k].clear();
  index_.clear();
  index_.reserve(ne);
  head_ = tail_ = kNil;
  for (uint32_t s = 0; s < ne; ++s) {
    Entry& e = entries_[s];
    uint32_t kind = 0, nmembers = 0;
    r(e.key), r(kind), r(nmembers), r(e.last_hit_ms), r(e.requests), r(e.hits), r(e.out_tokens), r(e.out_n);
    if (!r.ok()) return fail(r.error());
    if (e.key == 0 || index_.find(e.key) != FlatIndex::kNone || kind >= kKinds || nmembers > kMaxMembers ||
        !state_time_ok(e.last_hit_ms, false))
      return fail("invalid fingerprint record #" + std::to_string(s));
    e.kind = static_cast<uint8_t>(kind);
    e.nmembers = static_cast<uint8_t>(nmembers);
    while (kBlockSize[e.size_class] < e.nmembers) ++e.size_class;  // the smallest class that holds them
    e.block = alloc_block(e.size_class);
    Member* mem = members(e);
    for (uint32_t i = 0; i < e.nmembers; ++i) {
      Member& m = mem[i];
      r(m.account), r(m.requests), r(m.hits), r(m.out_n), r(m.name), r(m.out_tokens);
      if (r.ok() && m.name != kNil && m.name >= nn) return fail("member refers to a missing name");
    }
    if (!r.ok()) return fail(r.error());
    index_.insert(e.key, s);
    e.lru_prev = s == 0 ? kNil : s - 1;
    e.lru_next = s + 1 == ne ? kNil : s + 1;
  }
  if (ne) {
    head_ = 0;
    tail_ = static_cast<uint32_t>(ne - 1);
  }
  dirty_.resize(static_cast<size_t>(ne));  // every restored slot: evaluate() filters by last hit
  for (uint32_t s = 0; s < ne; ++s) dirty_[s] = s;
  return true;
}

// ------------------------------------------------------------------- blob I/O

namespace {

const DetectorConfig& config_of(const std::vector<std::unique_ptr<AccountDetector>>& shards,
                                const ClusterStage* cluster, const std::vector<std::string>*& cats) {
  static const DetectorConfig kDefault;
  static const std::vector<std::string> kNone;
  cats = &kNone;
  if (!shards.empty() && shards[0]) {
    cats = &shards[0]->categories();
    return shards[0]->config();
  }
  if (cluster) {
    cats = &cluster->categories();
    return cluster->config();
  }
  return kDefault;
}

}  // namespace

void save_detector_state(const std::vector<std::unique_ptr<AccountDetector>>& shards, const ClusterStage* cluster,
                         std::string& out) {
  const size_t start = out.size();
  const std::vector<std::string>* cats = nullptr;
  const DetectorConfig& cfg = config_of(shards, cluster, cats);
  StateWriter w(out);
  out.append(kMagic, sizeof kMagic);
  w(kDetectorStateVersion);
  w(static_cast<uint32_t>(shards.size()));
  w(cfg.buckets);
  w(cfg.bucket_seconds);
  w(cfg.max_accounts);
  w(static_cast<uint32_t>(cats->size()));
  w(detector_config_hash(cfg, *cats));
  w(cluster != nullptr);
  for (const auto& sh : shards) {
    const size_t at = w.begin_section(kTagShard);
    sh->save_state(w);
    w.end_section(at);
  }
  if (cluster) {
    const size_t at = w.begin_section(kTagCluster);
    cluster->save_state(w);
    w.end_section(at);
  }
  w(detector_state_checksum(std::string_view(out).substr(start)));
}

Result<void> load_detector_state(std::string_view in, std::vector<std::unique_ptr<AccountDetector>>& shards,
                                 ClusterStage* cluster) {
  auto bad = [](const std::string& m) { return make_error("detector state: " + m); };
  constexpr size_t kHeader = 8 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 1;
  if (in.size() < 12 || std::memcmp(in.data(), kMagic, sizeof kMagic) != 0)
    return bad("not a distillscan detector state (bad magic)");
  StateReader r(in.substr(8));
  uint32_t version = 0;
  r(version);
  if (version != kDetectorStateVersion)
    return bad("format version " + std::to_string(version) + ", this build reads version " +
               std::to_string(kDetectorStateVersion));
  if (in.size() < kHeader + 8) return bad("truncated (" + std::to_string(in.size()) + " bytes)");
  {
    StateReader t(in.substr(in.size() - 8));
    uint64_t sum = 0;
    t(sum);
    if (sum != detector_state_checksum(in.substr(0, in.size() - 8)))
      return bad("checksum mismatch: the file is truncated or corrupt");
  }
  r = StateReader(in.substr(12, in.size() - 12 - 8));
  uint32_t nshards = 0, buckets = 0, ncats = 0;
  int64_t bucket_seconds = 0;
  uint64_t max_accounts = 0, cfg_hash = 0;
  bool has_cluster = false;
  r(nshards), r(buckets), r(bucket_seconds), r(max_accounts), r(ncats), r(cfg_hash), r(has_cluster);
  if (!r.ok()) return bad(r.error());
  const std::vector<std::string>* cats = nullptr;
  const DetectorConfig& cfg = config_of(shards, cluster, cats);
  if (nshards != shards.size())
    return bad("state was written with detector.shards=" + std::to_string(nshards) + ", config says " +
               std::to_string(shards.size()));
  if (buckets != cfg.buckets || bucket_seconds != cfg.bucket_seconds)
    return bad("state was written with detector.bucket=" + std::to_string(bucket_seconds) + "s x " +
               std::to_string(buckets) + " buckets, config says " + std::to_string(cfg.bucket_seconds) + "s x " +
               std::to_string(cfg.buckets));
  if (max_accounts != cfg.max_accounts)
    return bad("state was written with limits.max_accounts=" + std::to_string(max_accounts) + ", config says " +
               std::to_string(cfg.max_accounts));
  if (ncats != cats->size())
    return bad("state was written with " + std::to_string(ncats) + " rule categories, the rules have " +
               std::to_string(cats->size()));
  if (has_cluster != (cluster != nullptr))
    return bad(std::string("state was written with the cluster stage ") + (has_cluster ? "on" : "off") +
               ", config has it " + (cluster ? "on" : "off"));
  if (cfg_hash != detector_config_hash(cfg, *cats))
    return bad("state was written with a different detector config or rule categories (thresholds, weights, "
               "limits or category names changed); remove the state to start fresh");

  // All-or-nothing: restore into fresh objects, commit only when all is well.
  std::vector<std::unique_ptr<AccountDetector>> fresh;
  fresh.reserve(shards.size());
  std::string err;
  for (size_t i = 0; i < shards.size(); ++i) {
    fresh.push_back(std::make_unique<AccountDetector>(shards[i]->config(), shards[i]->categories()));
    StateReader body{std::string_view{}};
    if (!r.section(kTagShard, body, "shard")) return bad(r.error());
    if (!fresh.back()->load_state(body, err)) return bad("shard " + std::to_string(i) + ": " + err);
    if (body.remaining()) return bad("shard " + std::to_string(i) + ": trailing bytes");
  }
  std::unique_ptr<ClusterStage> cl;
  if (cluster) {
    cl = std::make_unique<ClusterStage>(cluster->config(), cluster->categories());
    StateReader body{std::string_view{}};
    if (!r.section(kTagCluster, body, "cluster")) return bad(r.error());
    if (!cl->load_state(body, err)) return bad("cluster stage: " + err);
    if (body.remaining()) return bad("cluster stage: trailing bytes");
  }
  if (r.remaining()) return bad("trailing bytes after the last section");
  for (size_t i = 0; i < shards.size(); ++i) shards[i] = std::move(fresh[i]);
  if (cluster) *cluster = std::move(*cl);
  return {};
}

}  // namespace ds
