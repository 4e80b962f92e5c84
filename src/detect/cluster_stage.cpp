#include "detect/cluster_stage.hpp"

#include <algorithm>
#include <cmath>

#include "core/hash.hpp"

namespace ds {
namespace {

constexpr uint32_t kNil = 0xFFFFFFFFu;

double ratio(double a, double b) { return b > 0 ? a / b : 0; }
double strength_ge(double v, double thr) { return thr > 0 ? std::min(1.0, 0.5 + 0.5 * (v - thr) / thr) : 1.0; }

std::string hex16(uint64_t h) {
  static const char* hex = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 0; i < 16; ++i) s[static_cast<size_t>(i)] = hex[(h >> (60 - 4 * i)) & 0xF];
  return s;
}

}  // namespace

// "cluster_shared_<kind>", the reason of a member alert's cluster size.
static std::string_view shared_reason(uint32_t k) {
  static const std::array<std::string, ClusterStage::kKinds + 1> names = [] {
    std::array<std::string, ClusterStage::kKinds + 1> n;
    for (uint32_t i = 0; i <= ClusterStage::kKinds; ++i) n[i] = std::string("cluster_shared_") + ClusterStage::kind_name(i);
    return n;
  }();
  return names[std::min<uint32_t>(k, ClusterStage::kKinds)];
}

const char* ClusterStage::kind_name(uint32_t k) {
  switch (k) {
    case kSystem: return "system_prompt";
    case kSuffix: return "prompt_skeleton";
    case kUserAgent: return "user_agent";
    case kIp: return "client_ip";
    default: return "fingerprint";
  }
}

ClusterStage::ClusterStage(const DetectorConfig& cfg, const std::vector<std::string>& categories)
    : cfg_(cfg),
      categories_(categories),
      index_(std::max<uint64_t>(1, cfg.cluster.max_fingerprints)),
      name_index_(std::max<uint64_t>(1, cfg.cluster.max_names)),
      recent_index_(std::max<uint64_t>(1, cfg.cluster.max_names)) {
  for (size_t i = 0; i < categories.size() && i < kTrackedCategories; ++i)
    if (categories[i] != cfg.extraction.category) harvest_mask_ |= 1u << i;
  if (cfg_.cluster.interval_seconds < 1) cfg_.cluster.interval_seconds = 1;
}

void ClusterStage::unlink(uint32_t s) {
  Entry& e = entries_[s];
  if (e.lru_prev != kNil) entries_[e.lru_prev].lru_next = e.lru_next; else head_ = e.lru_next;
  if (e.lru_next != kNil) entries_[e.lru_next].lru_prev = e.lru_prev; else tail_ = e.lru_prev;
  e.lru_prev = e.lru_next = kNil;
}

void ClusterStage::push_front(uint32_t s) {
  Entry& e = entries_[s];
  e.lru_prev = kNil;
  e.lru_next = head_;
  if (head_ != kNil) entries_[head_].lru_prev = s;
  head_ = s;
  if (tail_ == kNil) tail_ = s;
}

void ClusterStage::evict(uint32_t s) {
  unlink(s);
  index_.erase(entries_[s].key);
  entries_[s].key = 0;
  free_block(entries_[s]);
  free_.push_back(s);
}

uint32_t ClusterStage::alloc_block(uint32_t c) {
  if (!pool_free_[c].empty()) {
    const uint32_t b = pool_free_[c].back();
    pool_free_[c].pop_back();
    return b;
  }
  const uint32_t b = static_cast<uint32_t>(pool_[c].size() / kBlockSize[c]);
  pool_[c].resize(pool_[c].size() + kBlockSize[c]);
  return b;
}

void ClusterStage::grow(Entry& e) {
  const uint32_t c = e.size_class + 1u;
  const uint32_t b = alloc_block(c);  // pool_[c] may move; members(e) is in pool_[c - 1]
  std::copy_n(members(e), e.nmembers, pool_[c].data() + size_t{b} * kBlockSize[c]);
  free_block(e);
  e.block = b;
  e.size_class = static_cast<uint8_t>(c);
}

uint32_t ClusterStage::create(uint64_t key, uint32_t kind, int64_t now) {
  const int64_t idle_ms = cfg_.cluster.idle_seconds * 1000;
  while (tail_ != kNil && entries_[tail_].last_hit_ms < now - idle_ms) {
    evict(tail_);
    ++counters_.fingerprints_evicted_idle;
  }
  if (index_.size() >= std::max<uint64_t>(1, cfg_.cluster.max_fingerprints)) {
    evict(tail_);
    ++counters_.fingerprints_evicted_lru;
  }
  uint32_t s;
  if (!free_.empty()) {
    s = free_.back();
    free_.pop_back();
  } else {
    s = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  Entry& e = entries_[s];
  e = Entry{};
  e.key = key;
  e.kind = static_cast<uint8_t>(kind);
  e.last_hit_ms = now;
  e.block = alloc_block(e.size_class);
  dirty_.push_back(s);
  index_.insert(key, s);
  push_front(s);
  ++counters_.fingerprints_created;
  return s;
}

uint32_t ClusterStage::name_slot(uint64_t hash, std::string_view id) {
  uint32_t s = name_index_.find(hash);
  if (s != FlatIndex::kNone) return s;
  const uint64_t cap = std::max<uint64_t>(1, cfg_.cluster.max_names);
  if (names_.size() < cap) {
    s = static_cast<uint32_t>(names_.size());
    names_.emplace_back();
  } else {
    s = static_cast<uint32_t>(name_next_++ % cap);  // FIFO: the oldest name goes
    name_index_.erase(names_[s].hash);
    ++counters_.names_evicted;
  }
  Name& n = names_[s];
  std::string keep = std::move(n.id);
  n = Name{};
  n.id = std::move(keep);
  assign_account_id(n.id, id, cfg_.max_account_bytes);
  n.hash = hash;
  name_index_.insert(hash, s);
  return s;
}

void ClusterStage::touch_event(const Event& ev, const EventBatch& b) {
  // Harvesting for the cluster stage: a harvesting rule hit, or a long
  // completion (per choice) on a request without tool turns.
  const bool hit = (ev.category_bits & harvest_mask_) != 0 ||
                   (ev.completion_tokens >= 0 && ev.tool_turns == 0 &&
                    static_cast<double>(ev.completion_tokens) / std::max(1, ev.n) >= cfg_.cluster.long_output_tokens);
  const uint64_t fps[kKinds] = {ev.system_hash, ev.prompt_suffix_hash, ev.user_agent_hash, ev.ip_hash};
  const uint64_t acct = ev.account_hash;
  uint32_t name = kNil;
  const bool usage = hit && ev.completion_tokens >= 0;  // only hits add outputs
  uint64_t out = 0;
  int64_t t = 0;
  if (hit) {
    name = name_slot(acct, b.view(ev.account));
    Name& n = names_[name];
    std::string_view rid = b.view(ev.request_id);
    if (!rid.empty()) {
      size_t len = utf8_cut(rid, std::min<size_t>(rid.size(), 64));
      std::copy_n(rid.data(), len, n.samples[n.sample_next].data());
      n.sample_len[n.sample_next] = static_cast<uint8_t>(len);
      n.sample_next ^= 1;
    }
    if (usage) out = static_cast<uint64_t>(ev.completion_tokens) / static_cast<uint64_t>(std::max(1, ev.n));
    // A hit older than the last evaluation (late: out of input order, or a
    // fingerprint record from another instance that was behind, or replayed
    // after a takeover) is still new for the next evaluation.
    t = prev_eval_ms_ != INT64_MIN && ev.time_ms < prev_eval_ms_ ? prev_eval_ms_ + 1 : ev.time_ms;
  }
  for (uint32_t k = 0; k < kKinds; ++k) {
    if (fps[k] == 0) continue;
    const uint64_t key = hash_combine(fps[k], 0x5157A6E0ull + k);
    uint32_t s = index_.find(key);
    if (s == FlatIndex::kNone) {
      if (!hit) continue;
      s = create(key, k, ev.time_ms);
    }
    Entry& e = entries_[s];
    ++e.requests;
    if (hit) {
      ++e.hits;
      if (e.last_hit_ms <= prev_eval_ms_) dirty_.push_back(s);  // its first hit since the last evaluation
      e.last_hit_ms = std::max(e.last_hit_ms, t);
      if (usage) e.out_tokens += out, ++e.out_n;
      if (head_ != s) {  // to the front of the LRU list (s is linked and not the head: it has a prev)
        entries_[e.lru_prev].lru_next = e.lru_next;
        if (e.lru_next != kNil) entries_[e.lru_next].lru_prev = e.lru_prev; else tail_ = e.lru_prev;
        e.lru_prev = kNil;
        e.lru_next = head_;
        entries_[head_].lru_prev = s;
        head_ = s;
      }
    }
    Member* mem = members(e);
    uint32_t at = 0;
    while (at < e.nmembers && mem[at].account != acct) ++at;
    Member* m;
    if (at < e.nmembers) {
      m = &mem[at];
    } else {
      if (!hit) continue;
      if (e.nmembers < kMaxMembers) {
        if (e.nmembers == kBlockSize[e.size_class]) {
          grow(e);
          mem = members(e);
        }
        at = e.nmembers++;
      } else {
        // SpaceSaving-style: replace the member with the fewest hits.
        at = 0;
        for (uint32_t i = 1; i < kMaxMembers; ++i)
          if (mem[i].hits < mem[at].hits) at = i;
        ++counters_.members_replaced;
      }
      m = &mem[at];
      *m = Member{};
      m->account = acct;
    }
    ++m->requests;
    if (hit) {
      ++m->hits;
      m->name = name;
      if (usage) m->out_tokens += out, ++m->out_n;
    }
  }
}

void ClusterStage::evaluate(int64_t now, uint64_t seq, uint32_t line, std::vector<Alert>& out) {
  ++counters_.evaluations;
  const auto& C = cfg_.cluster;
  struct Restore {  // prev_eval_ms_ = now once this evaluation is done
    int64_t& ref;
    int64_t now;
    ~Restore() { ref = now; }
  } restore{prev_eval_ms_, now};
  cand_.clear();
  const int64_t suppress_ms = cfg_.suppress_seconds * 1000;
  // Only entries hit since the last evaluation can qualify (checked below);
  // in slot order. The outcome does not depend on the order (candidates are
  // sorted), only the work does.
  std::sort(dirty_.begin(), dirty_.end());
  dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
  struct ClearDirty {  // once done: only entries hit after `now` stay new for the next evaluation
    std::vector<uint32_t>& v;
    const std::vector<Entry>& entries;
    int64_t now;
    ~ClearDirty() {
      v.erase(std::remove_if(v.begin(), v.end(),
                             [&](uint32_t s) { return entries[s].key == 0 || entries[s].last_hit_ms <= now; }),
              v.end());
    }
  } clear_dirty{dirty_, entries_, now};
  for (uint32_t s : dirty_) {
    const Entry& e = entries_[s];
    if (e.key == 0 || e.nmembers < C.min_accounts) continue;
    if (e.last_hit_ms <= prev_eval_ms_) continue;  // nothing new since the last evaluation
    if (ratio(e.hits, e.requests) < C.harvest_share) continue;
    if (e.out_n * 2 >= e.hits && ratio(static_cast<double>(e.out_tokens), e.out_n) < C.output_tokens) continue;
    const Member* mem = members(e);
    uint32_t active = 0;
    for (uint32_t i = 0; i < e.nmembers; ++i) active += mem[i].requests >= C.member_min_requests;
    if (active < C.min_accounts) continue;
    ++counters_.clusters_flagged;
    for (uint32_t i = 0; i < e.nmembers; ++i) {
      const Member& m = mem[i];
      if (m.requests < C.member_min_requests) continue;
      // Suppressed even if critical (!may_alert(m.account, now, true)): skip
      // early. Checked before the shares: most members of a cluster that
      // stays flagged were alerted at an earlier evaluation.
      if (const uint32_t rs = recent_index_.find(m.account); rs != FlatIndex::kNone) {
        const Recent& r = recent_[rs];
        if (r.critical && r.ms != INT64_MIN && now - r.ms < suppress_ms) continue;
      }
      if (ratio(m.hits, m.requests) < C.member_share) continue;
      if (m.out_n * 2 >= m.hits && ratio(static_cast<double>(m.out_tokens), m.out_n) < C.output_tokens) continue;
      cand_.push_back({m.account, s, i, active});
    }
  }
  if (cand_.empty()) return;
  listed_.clear();
  listed_names_.clear();
  // One alert per account: its largest cluster (ties: lowest fingerprint key).
  std::sort(cand_.begin(), cand_.end(), [&](const Candidate& a, const Candidate& b) {
    if (a.account != b.account) return a.account < b.account;
    if (a.size != b.size) return a.size > b.size;
    return entries_[a.entry].key < entries_[b.entry].key;
  });
  for (size_t i = 0; i < cand_.size(); ++i) {
    if (i > 0 && cand_[i].account == cand_[i - 1].account) continue;
    const Candidate& c = cand_[i];
    const Entry& e = entries_[c.entry];
    const Member* mem = members(e);
    const Member& m = mem[c.member];
    uint32_t ns = m.name;
    if (ns == kNil || ns >= names_.size() || names_[ns].hash != m.account) continue;  // name evicted
    Name& n = names_[ns];

    // Score first, from names as views: the Alert (strings) is built only
    // for a line that is written.
    struct Reason {
      std::string_view name;
      double v, thr;
    };
    std::array<Reason, 4> reasons;
    size_t nreasons = 0;
    double keep = 1.0;
    auto add = [&](std::string_view name, double v, double thr, double s) {
      keep *= 1.0 - std::min(0.95, s * cfg_.weight(name));
      reasons[nreasons++] = {name, v, thr};
    };
    add(shared_reason(e.kind), c.size, C.min_accounts, strength_ge(c.size, C.min_accounts));
    const double share = ratio(e.hits, e.requests);
    add("cluster_harvest_share", share, C.harvest_share, strength_ge(share, C.harvest_share));
    if (e.out_n) {
      const double o = ratio(static_cast<double>(e.out_tokens), e.out_n);
      add("cluster_output_tokens", o, C.output_tokens, strength_ge(o, C.output_tokens));
    }
    const double ms = ratio(m.hits, m.requests);
    add("member_harvest_share", ms, C.member_share, strength_ge(ms, C.member_share));
    const double score = 1.0 - keep;
    if (score < cfg_.alert_score) continue;
    const bool critical = score >= cfg_.critical_score;
    if (!may_alert(m.account, now, critical)) {  // either stage alerted it within the interval
      ++counters_.cross_suppressed;
      continue;
    }
    Alert a;
    a.seq = seq;
    a.line_in_chunk = line;
    a.time_ms = now;
    a.account = n.id;
    a.reasons.reserve(nreasons);
    for (size_t r = 0; r < nreasons; ++r)
      a.reasons.push_back({std::string(reasons[r].name), reasons[r].v, reasons[r].thr});
    a.score = score;
    a.critical = critical;
    a.account_hash = m.account;
    a.has_cluster = true;
    a.cluster.id = hex16(e.key);
    a.cluster.size = c.size;
    // The listed members depend only on the entry (and names, which do not
    // change here): sorted once per entry and evaluation, as pointers.
    size_t li = 0;
    while (li < listed_.size() && listed_[li].entry != c.entry) ++li;
    if (li == listed_.size()) {
      const uint32_t begin = static_cast<uint32_t>(listed_names_.size());
      for (uint32_t j = 0; j < e.nmembers; ++j) {
        const Member& o = mem[j];
        if (o.requests < C.member_min_requests || o.name == kNil || o.name >= names_.size() ||
            names_[o.name].hash != o.account)
          continue;
        listed_names_.push_back(&names_[o.name].id);
      }
      // Equal ids are interchangeable, so the listed strings are those of sorting the strings.
      std::sort(listed_names_.begin() + begin, listed_names_.end(),
                [](const std::string* x, const std::string* y) { return *x < *y; });
      const uint32_t end = static_cast<uint32_t>(std::min<size_t>(listed_names_.size(), begin + C.members_listed));
      listed_.push_back({c.entry, begin, end});
    }
    a.cluster.members.reserve(listed_[li].end - listed_[li].begin);
    for (uint32_t j = listed_[li].begin; j < listed_[li].end; ++j) a.cluster.members.push_back(*listed_names_[j]);
    a.requests = m.requests;
    a.sample_request_ids.reserve(2);
    for (uint8_t k = 0; k < 2; ++k) {
      uint8_t idx = static_cast<uint8_t>((n.sample_next + k) & 1);
      if (n.sample_len[idx]) a.sample_request_ids.emplace_back(n.samples[idx].data(), n.sample_len[idx]);
    }
    uint64_t h = hash_str(n.id);
    h = hash_combine(h, 0xC1u);  // detector set: cluster
    h = hash_combine(h, e.key);
    h = hash_combine(h, static_cast<uint64_t>(floor_div(now, cfg_.window_seconds() * 1000)));
    a.id = hex16(h);
    if (!n.flagged) n.first_alert_ms = now;
    n.flagged = true;
    n.score = std::max(n.score, a.score);
    n.cluster_key = e.key;
    n.last_alert_ms = now;
    record_alert(m.account, now, a.critical);
    ++counters_.member_alerts;
    out.push_back(std::move(a));
  }
}

bool ClusterStage::may_alert(uint64_t hash, int64_t ms, bool critical) const {
  const uint32_t s = recent_index_.find(hash);
  if (s == FlatIndex::kNone) return true;
  const Recent& r = recent_[s];
  if (r.ms == INT64_MIN || ms - r.ms >= cfg_.suppress_seconds * 1000) return true;
  return critical && !r.critical;  // escalation warning -> critical is written
}

void ClusterStage::record_alert(uint64_t hash, int64_t ms, bool critical) {
  uint32_t s = recent_index_.find(hash);
  if (s == FlatIndex::kNone) {
    const uint64_t cap = std::max<uint64_t>(1, cfg_.cluster.max_names);
    if (recent_.size() < cap) {
      s = static_cast<uint32_t>(recent_.size());
      recent_.emplace_back();
    } else {
      s = static_cast<uint32_t>(recent_next_++ % cap);  // FIFO: the oldest record goes
      recent_index_.erase(recent_[s].hash);
      ++counters_.alerted_evicted;
    }
    recent_[s].hash = hash;
    recent_index_.insert(hash, s);
  }
  recent_[s].ms = ms;
  recent_[s].critical = critical;
}

void ClusterStage::apply_shard_alert(Alert& a) {
  const uint64_t h = a.account_hash ? a.account_hash : hash_str(a.account);
  a.account_hash = h;
  if (may_alert(h, a.time_ms, a.critical)) {
    record_alert(h, a.time_ms, a.critical);
  } else {
    ++counters_.cross_suppressed;
    a.account_hash = 0;
    a.seq = ~uint64_t(0);  // marked: removed below
  }
}

void ClusterStage::observe(const EventBatch& b, uint64_t seq, std::vector<Alert>& out) {
  if (!cfg_.cluster.enabled) return;
  const int64_t interval = cfg_.cluster.interval_seconds * 1000;
  // The account detectors' alerts of this batch (already in `out`: no
  // cluster info, this batch's seq), in line order.
  shard_idx_.clear();
  for (size_t i = 0; i < out.size(); ++i)
    if (!out[i].has_cluster && out[i].seq == seq) shard_idx_.push_back(static_cast<uint32_t>(i));
  std::sort(shard_idx_.begin(), shard_idx_.end(), [&](uint32_t x, uint32_t y) {
    if (out[x].line_in_chunk != out[y].line_in_chunk) return out[x].line_in_chunk < out[y].line_in_chunk;
    if (out[x].id != out[y].id) return out[x].id < out[y].id;
    return x < y;
  });
  const size_t shard_end = shard_idx_.size();
  size_t next_shard = 0;
  bool dropped = false;
  // The line of the next shard alert (none: past every line).
  const auto shard_line = [&] {
    return next_shard < shard_end ? uint64_t{out[shard_idx_[next_shard]].line_in_chunk} : UINT64_MAX;
  };
  uint64_t next_line = shard_line();
  // The watermark from which floor_div(watermark, interval) > last_eval_,
  // i.e. (last_eval_ + 1) * interval (INT64_MIN before the first event;
  // INT64_MAX when that overflows: then only INT64_MAX itself checks).
  const auto boundary_ms = [&] {
    int64_t next;
    if (last_eval_ == INT64_MIN) return INT64_MIN;
    if (__builtin_add_overflow(last_eval_, 1, &next) || __builtin_mul_overflow(next, interval, &next)) return INT64_MAX;
    return next;
  };
  int64_t next_boundary = boundary_ms();
  for (const Event& ev : b.events) {
    while (next_line <= ev.line_in_chunk) {
      Alert& a = out[shard_idx_[next_shard++]];
      apply_shard_alert(a);
      dropped |= a.seq == ~uint64_t(0);
      next_line = shard_line();
    }
    touch_event(ev, b);
    if (ev.time_ms > watermark_) {
      watermark_ = ev.time_ms;
      if (watermark_ >= next_boundary) {  // else floor_div(watermark_, interval) <= last_eval_: nothing to do
        const int64_t boundary = floor_div(watermark_, interval);
        if (last_eval_ == INT64_MIN) {
          last_eval_ = boundary;
        } else if (boundary > last_eval_) {
          last_eval_ = boundary;
          evaluate(watermark_, seq, ev.line_in_chunk, out);
        }
        next_boundary = boundary_ms();
      }
    }
  }
  for (; next_shard < shard_end; ++next_shard) {
    Alert& a = out[shard_idx_[next_shard]];
    apply_shard_alert(a);
    dropped |= a.seq == ~uint64_t(0);
  }
  if (dropped)
    out.erase(std::remove_if(out.begin(), out.end(), [](const Alert& x) { return x.seq == ~uint64_t(0); }), out.end());
}

void ClusterStage::finish(uint64_t seq, std::vector<Alert>& out) {
  if (!cfg_.cluster.enabled || watermark_ == INT64_MIN) return;
  evaluate(watermark_, seq, 0, out);
}

uint64_t ClusterStage::memory_bytes() const {
  uint64_t ids = 0;
  for (const auto& n : names_) ids += n.id.capacity();
  uint64_t pool = 0;
  for (uint32_t c = 0; c < kClasses; ++c)
    pool += pool_[c].capacity() * sizeof(Member) + pool_free_[c].capacity() * sizeof(uint32_t);
  return index_.memory_bytes() + name_index_.memory_bytes() + recent_index_.memory_bytes() +
         recent_.capacity() * sizeof(Recent) + entries_.capacity() * sizeof(Entry) + pool +
         names_.capacity() * sizeof(Name) + ids + (free_.capacity() + dirty_.capacity()) * sizeof(uint32_t);
}

std::vector<ClusterFlag> ClusterStage::flagged() const {
  std::vector<ClusterFlag> out;
  for (const auto& n : names_) {
    if (!n.flagged) continue;
    ClusterFlag f;
    f.account = n.id;
    f.score = n.score;
    f.first_alert_ms = n.first_alert_ms;
    f.cluster.id = hex16(n.cluster_key);
    uint32_t s = index_.find(n.cluster_key);
    if (s != FlatIndex::kNone) {
      const Entry& e = entries_[s];
      f.reasons.push_back({std::string("cluster_shared_") + kind_name(e.kind), static_cast<double>(e.nmembers),
                           static_cast<double>(cfg_.cluster.min_accounts)});
      f.reasons.push_back({"cluster_harvest_share", ratio(e.hits, e.requests), cfg_.cluster.harvest_share});
      f.cluster.size = e.nmembers;
    }
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const ClusterFlag& a, const ClusterFlag& b) { return a.account < b.account; });
  return out;
}

}  // namespace ds
