#include "detect/account_detector.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <type_traits>

#include "core/hash.hpp"

namespace ds {
namespace {

static_assert(sizeof(WindowCounts) == 216, "update the byte counts in account_state.hpp and README");
static_assert(sizeof(WindowBucket) == 224, "update the byte counts in account_state.hpp and README");
static_assert(sizeof(AccountState) == 1424, "update the byte counts in account_state.hpp and README");

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

// Distinct values over the long horizon of a per-epoch sketch pair.
double distinct_in_horizon(const std::array<Hll<6>, 2>& epochs) {
  Hll<6> h = epochs[0];
  h.merge(epochs[1]);
  return h.estimate();
}

// Share of the horizon's requests that repeat a value seen before in it:
// 1 - distinct / requests (prompt repetition, near-duplicate share).
double repeat_share(const std::array<Hll<6>, 2>& epochs, double requests) {
  if (requests <= 0) return 0;
  return 1.0 - std::min(1.0, distinct_in_horizon(epochs) / requests);
}

// Signal strength of a fired reason: 0.5 at the threshold, 1.0 at twice it.
double strength_ge(double v, double thr) { return thr > 0 ? std::min(1.0, 0.5 + 0.5 * (v - thr) / thr) : 1.0; }

enum Kind : uint32_t { kHarvest = 1, kProbe = 2, kExtraction = 4, kTemplate = 8 };

struct Scorer {
  const DetectorConfig& cfg;
  std::vector<AlertReason>* out;
  double keep = 1.0;
  void add(std::string_view name, double value, double thr, double s, double weight) {
    double w = std::min(0.95, std::max(0.0, s * weight));
    keep *= 1.0 - w;
    if (out) out->push_back({std::string(name), value, thr});  // only when building an alert or report
  }
  double score() const { return 1.0 - keep; }
};

std::string hex16(uint64_t h) {
  static const char* hex = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 0; i < 16; ++i) s[static_cast<size_t>(i)] = hex[(h >> (60 - 4 * i)) & 0xF];
  return s;
}

}  // namespace

AccountDetector::AccountDetector(const DetectorConfig& cfg, const std::vector<std::string>& categories)
    : cfg_(cfg),
      table_(std::max<uint64_t>(1, cfg.max_accounts / std::max<uint32_t>(1, cfg.shards)), cfg.buckets,
             cfg.account_idle_seconds * 1000, cfg.max_account_bytes) {
  size_t n = std::min<size_t>(categories.size(), kTrackedCategories);
  for (size_t i = 0; i < n; ++i) {
    categories_.push_back(categories[i]);
    rate_names_.push_back(categories[i] + "_rate");
    double thr = cfg.default_threshold, w = 1.0;
    for (const auto& c : cfg.categories) {
      if (c.category == categories[i]) {
        thr = c.threshold;
        w = c.weight;
      }
    }
    thresholds_.push_back(thr);
    weights_.push_back(w);
    if (categories[i] == cfg.extraction.category) extraction_cat_ = static_cast<int>(i);
    else harvest_mask_ |= 1u << i;
  }
  if (cfg_.horizon_seconds < 2) cfg_.horizon_seconds = 2;
  epoch_of_ = IntervalOf(cfg_.horizon_seconds * 500);
  bucket_of_ = IntervalOf(cfg_.bucket_seconds * 1000);
}

void AccountDetector::advance_ring(AccountState& a, WindowBucket* ring, int64_t bucket) {
  const int64_t n = cfg_.buckets;
  if (bucket <= a.newest_bucket) return;
  // Expire every slot that now falls out of [bucket-n+1, bucket].
  int64_t from = (a.newest_bucket == INT64_MIN || bucket - a.newest_bucket >= n) ? bucket - n + 1 : a.newest_bucket + 1;
  for (int64_t b = from, i = ring_slot(from, n); b <= bucket; ++b, i = i + 1 == n ? 0 : i + 1) {
    WindowBucket& slot = ring[i];
    if (slot.index != INT64_MIN) a.window.sub(slot.counts);
    slot = WindowBucket{};
    slot.index = b;
  }
  a.newest_bucket = bucket;
}

void AccountDetector::advance_epoch(AccountState& a, int64_t epoch) {
  if (a.epoch != INT64_MIN && epoch <= a.epoch) return;
  if (a.epoch != INT64_MIN && epoch == a.epoch + 1) {
    a.epoch_cur ^= 1;  // the old current becomes previous; the old previous is dropped
  } else {
    a.epochs[a.epoch_cur ^ 1] = WindowCounts{};
    a.suffix_cand[a.epoch_cur ^ 1] = 0;
    a.suffix_votes[a.epoch_cur ^ 1] = 0;
    a.prompts[a.epoch_cur ^ 1].clear();
    a.near_prompts[a.epoch_cur ^ 1].clear();
    a.temp_bins[a.epoch_cur ^ 1] = 0;
  }
  a.epochs[a.epoch_cur] = WindowCounts{};
  a.suffix_cand[a.epoch_cur] = 0;
  a.suffix_votes[a.epoch_cur] = 0;
  a.prompts[a.epoch_cur].clear();
  a.near_prompts[a.epoch_cur].clear();
  a.temp_bins[a.epoch_cur] = 0;
  a.epoch = epoch;
}

void AccountDetector::observe(const Event& ev, const EventBatch& batch, uint64_t seq, std::vector<Alert>& out) {
  if (ev.time_ms > watermark_ms_) watermark_ms_ = ev.time_ms;
  AccountState& a = table_.touch(ev.account_hash, batch.view(ev.account), watermark_ms_);
  if (a.lifetime_requests == 0) {
    a.first_seen_ms = ev.time_ms;
    a.last_seen_ms = ev.time_ms;
  } else {
    // Inter-arrival regularity (in-order gaps only, capped at an hour).
    if (ev.time_ms >= a.last_seen_ms) {
      double gap = std::min(3600.0, static_cast<double>(ev.time_ms - a.last_seen_ms) / 1000.0);
      ++a.gaps;
      double d = gap - a.gap_mean;
      a.gap_mean += d / a.gaps;
      a.gap_m2 += d * (gap - a.gap_mean);
    }
  }
  ++a.lifetime_requests;
  a.last_seen_ms = std::max(a.last_seen_ms, ev.time_ms);

  // Lifetime sketches.
  a.ips.add(ev.ip_hash);
  a.keys.add(ev.api_key_hash);
  a.user_agents.add(ev.user_agent_hash);
  // Hour of day; events before 1970 (negative times) too: % alone would give -23..-1.
  ++a.hour_hist[static_cast<size_t>(((floor_div(ev.time_ms, 3600 * 1000) % 24) + 24) % 24)];

  // Per-request contribution.
  RequestDelta delta;
  delta.hit = ev.category_bits != 0;
  static_assert(kTrackedCategories == 32, "category_bits is a uint32_t: every bit is tracked");
  delta.categories = ev.category_bits;
  delta.prompt_tokens = ev.prompt_tokens > 0 ? static_cast<uint64_t>(ev.prompt_tokens) : 0;
  delta.completion_tokens = ev.completion_tokens > 0 ? static_cast<uint64_t>(ev.completion_tokens) : 0;
  if ((ev.category_bits & harvest_mask_) && ev.completion_tokens >= 0) {
    delta.hit_output_tokens = static_cast<uint64_t>(ev.completion_tokens) / static_cast<uint64_t>(std::max(1, ev.n));
    delta.hit_with_usage = 1;
  }
  if (ev.completion_tokens >= 0) {
    delta.output_tokens = static_cast<uint64_t>(ev.completion_tokens) / static_cast<uint64_t>(std::max(1, ev.n));
    delta.with_usage = 1;
  }
  delta.n_multi = ev.n > 1;
  delta.logprobs = ev.logprobs > 0;
  delta.top_logprobs_hi = ev.top_logprobs >= cfg_.logit_probe.top_logprobs;
  delta.bias_big = ev.logit_bias_count >= cfg_.logit_probe.bias_entries;
  delta.tiny_output = ev.max_tokens >= 0 && ev.max_tokens <= cfg_.logit_probe.max_tokens;
  delta.single_turn = ev.user_turns <= 1 && ev.assistant_turns == 0 && ev.tool_turns == 0;
  delta.tool_turns = ev.tool_turns > 0;

  // Long horizon (two epochs).
  const int64_t epoch = epoch_of_(ev.time_ms);
  advance_epoch(a, epoch);
  {
    const uint8_t e = epoch == a.epoch ? a.epoch_cur : static_cast<uint8_t>(a.epoch_cur ^ 1);
    if (epoch >= a.epoch - 1) {
      if (ev.prompt_suffix_hash) {  // Boyer-Moore majority vote per epoch
        if (a.suffix_cand[e] == ev.prompt_suffix_hash) {
          ++a.suffix_votes[e];
          delta.top_suffix = true;
        } else if (--a.suffix_votes[e] < 0) {
          a.suffix_cand[e] = ev.prompt_suffix_hash;
          a.suffix_votes[e] = 1;
          a.epochs[e].top_suffix = 0;
          delta.top_suffix = true;
        }
      }
      a.epochs[e].add(delta);
      a.prompts[e].add(ev.prompt_hash);
      a.near_prompts[e].add(ev.prompt_near_hash);
      if (!std::isnan(ev.temperature)) {
        int bin = static_cast<int>(std::lround(std::clamp(ev.temperature, 0.0f, 1.5f) * 10.0f));
        a.temp_bins[e] = static_cast<uint16_t>(a.temp_bins[e] | (1u << std::min(bin, 15)));
      }
    }
  }

  const int64_t bucket = bucket_of_(ev.time_ms);
  WindowBucket* ring = table_.ring(a);
  advance_ring(a, ring, bucket);
  if (bucket <= a.newest_bucket - static_cast<int64_t>(cfg_.buckets)) {
    ++a.late_events;  // too old for the window: lifetime counts only
    return;
  }
  if (bucket != slot_bucket_) slot_bucket_ = bucket, slot_ = ring_slot(bucket, cfg_.buckets);
  WindowBucket& slot = ring[slot_];
  slot.counts.add(delta);
  a.window.add(delta);
  if (ev.category_bits != 0) a.add_sample(batch.view(ev.request_id));

  evaluate(a, ev, seq, out);
}

AccountFeatures AccountDetector::features(const AccountState& a) const {
  AccountFeatures f;
  WindowCounts l = a.epochs[0];
  l.add(a.epochs[1]);
  f.window_requests = a.window.requests;
  f.long_requests = l.requests;
  f.window_hits = a.window.hit_requests;
  f.long_hits = l.hit_requests;
  const double req = l.requests;
  f.hit_share = ratio(l.hit_requests, req);
  for (size_t c = 0; c < categories_.size(); ++c) {
    double s = ratio(l.category[c], req);
    if (s > f.best_category_share) {
      f.best_category_share = s;
      f.best_category = static_cast<int>(c);
    }
  }
  f.output_per_hit = l.hit_with_usage ? ratio(static_cast<double>(l.hit_output_tokens), l.hit_with_usage) : -1;
  f.output_per_request = ratio(static_cast<double>(l.completion_tokens), req);
  f.output_input_ratio = ratio(static_cast<double>(l.completion_tokens), static_cast<double>(l.prompt_tokens));
  f.n_share = ratio(l.n_multi, req);
  f.logprobs_share = ratio(l.logprobs, req);
  f.top_logprobs_share = ratio(l.top_logprobs_hi, req);
  f.bias_share = ratio(l.bias_big, req);
  f.tiny_output_share = ratio(l.tiny_output, req);
  f.single_turn_share = ratio(l.single_turn, req);
  f.tool_share = ratio(l.tool_turns, req);
  f.distinct_prompts = std::min(distinct_in_horizon(a.prompts), req);
  f.diversity = ratio(f.distinct_prompts, req);
  f.near_duplicate_share = repeat_share(a.near_prompts, req);
  f.temperatures = static_cast<uint32_t>(__builtin_popcount(a.temp_bins[0] | a.temp_bins[1]));
  f.ips = a.ips.estimate();
  f.keys = a.keys.estimate();
  f.user_agents = a.user_agents.estimate();
  double total = 0;
  for (uint32_t h : a.hour_hist) total += h;
  double ent = 0;
  for (uint32_t h : a.hour_hist)
    if (h) ent -= (h / total) * std::log(h / total);
  f.hour_entropy = ent / std::log(24.0);
  f.span_hours = static_cast<double>(a.last_seen_ms - a.first_seen_ms) / 3.6e6;
  f.gap_cv = a.gaps > 1 && a.gap_mean > 0 ? std::sqrt(a.gap_m2 / (a.gaps - 1)) / a.gap_mean : 0;
  f.rate_per_hour = a.window.requests * 3600.0 / static_cast<double>(cfg_.window_seconds());
  return f;
}

double AccountDetector::assess(const AccountState& a, std::vector<AlertReason>* reasons, uint32_t* kinds) const {
  // Cheap gates first (counts only); sketches and entropy only when a
  // detector's required signals already hold.
  const WindowCounts& w = a.window;
  WindowCounts l = a.epochs[0];
  l.add(a.epochs[1]);
  if (kinds) *kinds = 0;
  if (w.requests < cfg_.min_requests && l.requests < cfg_.min_requests) return 0;

  Scorer sc{cfg_, reasons};
  uint32_t fired = 0;
  const auto& H = cfg_.harvest;

  // --- harvest: rate (short or long) AND volume AND output ---------------
  {
    int best = -1;
    double best_share = 0;
    bool long_horizon = false;
    for (size_t c = 0; c < categories_.size(); ++c) {
      if (!((harvest_mask_ >> c) & 1u)) continue;
      double sw = ratio(w.category[c], w.requests), sl = ratio(l.category[c], l.requests);
      bool okw = w.requests >= cfg_.min_requests && sw >= thresholds_[c] && w.category[c] >= H.min_hits;
      bool okl = sl >= thresholds_[c] && l.category[c] >= H.long_min_hits;
      if (okw && sw / thresholds_[c] > best_share) {
        best = static_cast<int>(c), best_share = sw / thresholds_[c], long_horizon = false;
      }
      if (okl && sl / thresholds_[c] > best_share) {
        best = static_cast<int>(c), best_share = sl / thresholds_[c], long_horizon = true;
      }
    }
    // Reseller mixes: any harvesting category over the long horizon.
    uint64_t lhits = 0;
    for (size_t c = 0; c < categories_.size(); ++c)
      if ((harvest_mask_ >> c) & 1u) lhits += l.category[c];
    lhits = std::min<uint64_t>(lhits, l.hit_requests);
    const double mixed = ratio(static_cast<double>(lhits), l.requests);
    const bool mixed_ok = best < 0 && mixed >= H.mixed_share && lhits >= H.long_min_hits;
    if (best >= 0 || mixed_ok) {
      const WindowCounts& src = (best >= 0 && !long_horizon) ? w : l;
      const double hits_in_src = best >= 0 ? static_cast<double>(src.category[static_cast<size_t>(best)]) : lhits;
      const bool usage_known = src.hit_with_usage * 2 >= src.hit_requests && src.hit_with_usage > 0;
      const double out = ratio(static_cast<double>(src.hit_output_tokens), src.hit_with_usage);
      bool out_ok = usage_known && out >= H.output_tokens;
      if (out_ok || !usage_known) {
        std::vector<AlertReason> tmp;
        Scorer hs{cfg_, reasons ? &tmp : nullptr};
        if (best >= 0) {
          const size_t c = static_cast<size_t>(best);
          const double share = long_horizon ? ratio(l.category[c], l.requests) : ratio(w.category[c], w.requests);
          hs.add(rate_names_[c], share, thresholds_[c], strength_ge(share, thresholds_[c]), weights_[c]);
        } else {
          hs.add("harvest_share", mixed, H.mixed_share, strength_ge(mixed, H.mixed_share), cfg_.weight("harvest_share"));
        }
        const double vol_thr = static_cast<double>(long_horizon || mixed_ok ? H.long_min_hits : H.min_hits);
        hs.add("harvest_requests", hits_in_src, vol_thr, strength_ge(hits_in_src, vol_thr), cfg_.weight("harvest_requests"));
        int extra = 0;
        if (out_ok) {
          hs.add("harvest_output_tokens", out, H.output_tokens, strength_ge(out, H.output_tokens),
                 cfg_.weight("harvest_output_tokens"));
        }
        // Corroborating signals.
        const auto& C = cfg_.corroboration;
        AccountFeatures f = features(a);
        if (f.n_share >= C.n_share) ++extra, hs.add("n_share", f.n_share, C.n_share, strength_ge(f.n_share, C.n_share), cfg_.weight("n_share"));
        if (f.temperatures >= C.temperatures)
          ++extra, hs.add("temperature_sweep", f.temperatures, C.temperatures, strength_ge(f.temperatures, C.temperatures), cfg_.weight("temperature_sweep"));
        if (f.long_requests >= cfg_.min_requests && f.diversity >= C.diversity)
          ++extra, hs.add("prompt_diversity", f.diversity, C.diversity, 0.5, cfg_.weight("prompt_diversity"));
        if (f.span_hours >= 12 && f.hour_entropy >= C.flat_hours)
          ++extra, hs.add("flat_cadence", f.hour_entropy, C.flat_hours, 0.5, cfg_.weight("flat_cadence"));
        if (f.rate_per_hour >= C.rate_per_hour)
          ++extra, hs.add("request_rate", f.rate_per_hour, C.rate_per_hour, strength_ge(f.rate_per_hour, C.rate_per_hour), cfg_.weight("request_rate"));
        if (f.ips >= C.ips) ++extra, hs.add("distinct_ips", std::round(f.ips), C.ips, 0.3, cfg_.weight("distinct_ips"));
        if (f.keys >= C.keys) ++extra, hs.add("api_keys", std::round(f.keys), C.keys, 0.3, cfg_.weight("api_keys"));
        if (out_ok || extra > 0) {
          fired |= kHarvest;
          sc.keep *= hs.keep;
          if (reasons) reasons->insert(reasons->end(), tmp.begin(), tmp.end());
        }
      }
    }
  }

  // --- templated harvesting (no rule needed): dominant suffix AND long
  // outputs AND volume AND a corroborating signal ---------------------------
  if (!(fired & kHarvest) && l.requests >= H.long_min_hits && l.with_usage * 2 >= l.requests) {
    // The current epoch's dominant-suffix share (the previous epoch's when the current one is young).
    const WindowCounts& ec = a.epochs[a.epoch_cur];
    const WindowCounts& ep = a.epochs[a.epoch_cur ^ 1];
    const WindowCounts& e = ec.requests >= ep.requests / 2 ? ec : ep;
    const double tshare = ratio(e.top_suffix, e.requests);
    const double out = ratio(static_cast<double>(l.output_tokens), l.with_usage);
    const double oi = ratio(static_cast<double>(l.completion_tokens), static_cast<double>(l.prompt_tokens));
    const double single = ratio(l.single_turn, l.requests);
    const bool suffix_shape = tshare >= H.template_share;
    const bool ratio_shape = !suffix_shape && oi >= H.output_input_ratio && single >= 0.8;
    // Near-duplicates (one template, its slots filled differently at both
    // ends, so no suffix dominates): templating alone is also what batch
    // jobs and evaluation harnesses do, so this shape needs the round-the-
    // clock cadence on top (checked below), not just any corroboration.
    const double near = !suffix_shape && !ratio_shape && out >= H.template_output_tokens
                            ? repeat_share(a.near_prompts, l.requests)
                            : 0;
    const bool near_shape = near > 0 && near >= H.near_duplicate_share;
    if ((suffix_shape || ratio_shape || near_shape) && out >= H.template_output_tokens) {
      const auto& C = cfg_.corroboration;
      AccountFeatures f = features(a);
      const bool flat = f.span_hours >= 12 && f.hour_entropy >= C.flat_hours;
      std::vector<AlertReason> tmp;
      Scorer ts{cfg_, reasons ? &tmp : nullptr};
      if (suffix_shape)
        ts.add("template_share", tshare, H.template_share, strength_ge(tshare, H.template_share), cfg_.weight("template_share"));
      else if (ratio_shape)
        ts.add("output_input_ratio", oi, H.output_input_ratio, strength_ge(oi, H.output_input_ratio), cfg_.weight("output_input_ratio"));
      else
        ts.add("near_duplicate_share", near, H.near_duplicate_share, strength_ge(near, H.near_duplicate_share),
               cfg_.weight("near_duplicate_share"));
      ts.add("output_tokens", out, H.template_output_tokens, strength_ge(out, H.template_output_tokens), cfg_.weight("output_tokens"));
      ts.add("requests", l.requests, static_cast<double>(H.long_min_hits), strength_ge(l.requests, static_cast<double>(H.long_min_hits)), cfg_.weight("requests"));
      int extra = 0;
      if (flat) ++extra, ts.add("flat_cadence", f.hour_entropy, C.flat_hours, 0.5, cfg_.weight("flat_cadence"));
      if (f.rate_per_hour >= C.rate_per_hour)
        ++extra, ts.add("request_rate", f.rate_per_hour, C.rate_per_hour, strength_ge(f.rate_per_hour, C.rate_per_hour), cfg_.weight("request_rate"));
      if (f.n_share >= C.n_share) ++extra, ts.add("n_share", f.n_share, C.n_share, strength_ge(f.n_share, C.n_share), cfg_.weight("n_share"));
      if (f.temperatures >= C.temperatures)
        ++extra, ts.add("temperature_sweep", f.temperatures, C.temperatures, strength_ge(f.temperatures, C.temperatures), cfg_.weight("temperature_sweep"));
      if (extra > 0 && (!near_shape || flat)) {
        fired |= kTemplate;
        sc.keep *= ts.keep;
        if (reasons) reasons->insert(reasons->end(), tmp.begin(), tmp.end());
      }
    }
  }

  // --- logit / logprob probing -------------------------------------------
  const auto& P = cfg_.logit_probe;
  if (l.requests >= P.min_requests) {
    const double req = l.requests;
    const double lp = ratio(std::max(l.logprobs, l.top_logprobs_hi) , req);
    const double top = ratio(l.top_logprobs_hi, req);
    const double bias = ratio(l.bias_big, req), tiny = ratio(l.tiny_output, req);
    const double lps = std::max(top, ratio(l.logprobs, req) * (top >= P.share ? 1.0 : 0.0));
    (void)lp;
    uint32_t n = (lps >= P.share) + (bias >= P.share) + (tiny >= P.share);
    if (n + 1 >= P.min_signals) {
      const double rep = repeat_share(a.prompts, req);
      n += rep >= P.repetition;
      if (n >= P.min_signals) {
        fired |= kProbe;
        if (lps >= P.share) sc.add("max_logprobs_share", lps, P.share, strength_ge(lps, P.share), cfg_.weight("max_logprobs_share"));
        if (bias >= P.share) sc.add("logit_bias_share", bias, P.share, strength_ge(bias, P.share), cfg_.weight("logit_bias_share"));
        if (tiny >= P.share) sc.add("tiny_max_tokens_share", tiny, P.share, strength_ge(tiny, P.share), cfg_.weight("tiny_max_tokens_share"));
        if (rep >= P.repetition) sc.add("prompt_repetition", rep, P.repetition, strength_ge(rep, P.repetition), cfg_.weight("prompt_repetition"));
      }
    }
  }

  // --- system-prompt extraction --------------------------------------------
  if (extraction_cat_ >= 0) {
    const size_t c = static_cast<size_t>(extraction_cat_);
    const double share = ratio(l.category[c], l.requests);
    if (l.category[c] >= cfg_.extraction.min_hits && share >= thresholds_[c]) {
      const auto& C = cfg_.corroboration;
      const double ips = a.ips.estimate();
      const double div = std::min(1.0, distinct_in_horizon(a.prompts) / std::max(1u, l.requests));
      if (ips >= C.ips || div >= C.diversity) {
        fired |= kExtraction;
        sc.add(rate_names_[c], share, thresholds_[c], strength_ge(share, thresholds_[c]), weights_[c]);
        const double thr = static_cast<double>(cfg_.extraction.min_hits);
        sc.add("extraction_requests", l.category[c], thr, strength_ge(l.category[c], thr), cfg_.weight("extraction_requests"));
        if (ips >= C.ips) sc.add("distinct_ips", std::round(ips), C.ips, 0.3, cfg_.weight("distinct_ips"));
        if (div >= C.diversity) sc.add("prompt_diversity", div, C.diversity, 0.3, cfg_.weight("prompt_diversity"));
      }
    }
  }
  if (kinds) *kinds = fired;
  return fired ? sc.score() : 0.0;
}

void AccountDetector::evaluate(AccountState& a, const Event& ev, uint64_t seq, std::vector<Alert>& out) {
  if (a.last_alert_ms != INT64_MIN && ev.time_ms - a.last_alert_ms < cfg_.suppress_seconds * 1000) return;
  // Cheap pre-gate: nothing can fire without rule hits or logprob parameters.
  const uint32_t l_hits = a.epochs[0].hit_requests + a.epochs[1].hit_requests;
  const uint32_t l_lp = a.epochs[0].logprobs + a.epochs[1].logprobs + a.epochs[0].bias_big + a.epochs[1].bias_big;
  const uint64_t l_out = a.epochs[0].output_tokens + a.epochs[1].output_tokens;
  const uint32_t l_usage = a.epochs[0].with_usage + a.epochs[1].with_usage;
  if (l_hits < std::min<uint64_t>({cfg_.harvest.min_hits, cfg_.extraction.min_hits}) && l_lp == 0 &&
      (l_usage < cfg_.harvest.long_min_hits || static_cast<double>(l_out) < cfg_.harvest.template_output_tokens * l_usage))
    return;

  uint32_t kinds = 0;
  double score = assess(a, nullptr, &kinds);
  a.last_score = score;
  if (!kinds || score < cfg_.alert_score) return;

  Alert alert;
  assess(a, &alert.reasons, &kinds);
  alert.seq = seq;
  alert.line_in_chunk = ev.line_in_chunk;
  alert.time_ms = ev.time_ms;
  alert.account = a.id;
  alert.account_hash = a.hash;
  alert.score = score;
  alert.critical = score >= cfg_.critical_score;
  alert.requests = std::max<uint64_t>(a.window.requests, a.epochs[0].requests + a.epochs[1].requests);
  for (size_t i = 0; i < kSampleIds; ++i) {
    size_t k = (a.sample_next + i) % kSampleIds;  // oldest first
    if (a.sample_len[k]) alert.sample_request_ids.emplace_back(a.sample_ids[k].data(), a.sample_len[k]);
  }
  // Stable id: account, detector set and window number. Replaying the same
  // data yields the same id, so an at-least-once restart cannot add alerts.
  uint64_t h = hash_str(a.id);
  h = hash_combine(h, kinds);
  h = hash_combine(h, static_cast<uint64_t>(floor_div(ev.time_ms, cfg_.window_seconds() * 1000)));
  alert.id = hex16(h);

  a.last_alert_ms = ev.time_ms;
  a.last_detectors = kinds;
  ++a.alerts;
  a.max_score = std::max(a.max_score, score);
  out.push_back(std::move(alert));
}

AccountSummary AccountDetector::summary(const AccountState& a) const {
  AccountSummary s;
  s.account = a.id;
  s.max_score = a.max_score;
  s.alerts = a.alerts;
  s.lifetime_requests = a.lifetime_requests;
  s.window_requests = a.window.requests;
  s.first_seen_ms = a.first_seen_ms;
  s.last_seen_ms = a.last_seen_ms;
  s.features = features(a);
  uint32_t kinds = 0;
  s.score = assess(a, &s.reasons, &kinds);
  return s;
}

}  // namespace ds
