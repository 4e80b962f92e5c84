#include "app/config.hpp"

#include "detect/account_state.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>

namespace ds {
namespace {

struct Ctx {
  std::string file;
  std::vector<std::string> errors;
  void error(const YAML::Node& n, const std::string& msg) {
    errors.push_back(file + ":" + std::to_string(n.Mark().line + 1) + ": " + msg);
  }
};

void check_keys(Ctx& c, const YAML::Node& map, const std::string& section, const std::set<std::string>& allowed) {
  for (const auto& kv : map) {
    auto key = kv.first.as<std::string>("");
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      c.error(kv.first, "unknown key '" + key + "' in " + section + " (allowed: " + list + ")");
    }
  }
}

bool scalar(Ctx& c, const YAML::Node& n, const std::string& what, std::string& out) {
  if (!n.IsScalar()) {
    c.error(n, what + " must be a single value");
    return false;
  }
  out = n.Scalar();
  return true;
}

template <class T>
void number(Ctx& c, const YAML::Node& n, const std::string& what, T& out, double lo, double hi) {
  std::string s;
  if (!scalar(c, n, what, s)) return;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != 0 || !(v >= lo && v <= hi)) {  // written so that NaN fails too
    std::ostringstream m;
    m << what << " must be a number between " << lo << " and " << hi << ", got '" << s << "'";
    c.error(n, m.str());
    return;
  }
  out = static_cast<T>(v);
}

void duration(Ctx& c, const YAML::Node& n, const std::string& what, int64_t& out) {
  std::string s;
  if (!scalar(c, n, what, s)) return;
  auto r = parse_duration_seconds(s);
  // At most 100 years, so that milliseconds and window arithmetic cannot overflow.
  constexpr int64_t kMaxSeconds = int64_t{36500} * 86400;
  if (!r || *r <= 0 || *r > kMaxSeconds) {
    c.error(n, what + ": " +
                   (!r ? r.error().message : *r <= 0 ? std::string("must be positive") : std::string("at most 36500d")));
    return;
  }
  out = *r;
}

void size(Ctx& c, const YAML::Node& n, const std::string& what, uint64_t& out, uint64_t max = UINT64_MAX,
          const char* max_text = "") {
  std::string s;
  if (!scalar(c, n, what, s)) return;
  auto r = parse_size_bytes(s);
  if (!r || *r == 0 || *r > max) {
    c.error(n, what + ": " +
                   (!r ? r.error().message : *r == 0 ? std::string("must be positive") : std::string(max_text)));
    return;
  }
  out = *r;
}

void boolean(Ctx& c, const YAML::Node& n, const std::string& what, bool& out) {
  std::string s;
  if (!scalar(c, n, what, s)) return;
  if (s == "true" || s == "yes" || s == "on") out = true;
  else if (s == "false" || s == "no" || s == "off") out = false;
  else c.error(n, what + " must be true or false, got '" + s + "'");
}

void load_fields(Ctx& c, const YAML::Node& n, Config& cfg) {
  if (!n.IsMap()) return c.error(n, "fields must be a map of field: /json/pointer");
  if (n["preset"]) {
    std::string p;
    if (scalar(c, n["preset"], "fields.preset", p)) {
      auto r = FieldMapping::preset(p);
      if (r) cfg.fields = *r;
      else c.error(n["preset"], r.error().message);
    }
  }
  for (const auto& kv : n) {
    auto key = kv.first.as<std::string>("");
    if (key == "preset") continue;
    std::string ptr;
    if (kv.second.IsNull()) ptr.clear();
    else if (!scalar(c, kv.second, "fields." + key, ptr)) continue;
    auto r = cfg.fields.set(key, ptr);
    if (!r) c.error(kv.first, r.error().message);
  }
}

void load_detector(Ctx& c, const YAML::Node& n, Config& cfg) {
  if (!n.IsMap()) return c.error(n, "detector must be a map");
  check_keys(c, n, "detector",
             {"bucket", "window", "horizon", "min_requests", "default_threshold", "categories", "weights",
              "alert_score", "critical_score", "shards", "suppress", "harvest", "logit_probe", "extraction",
              "corroboration", "cluster"});
  auto& d = cfg.detector;
  int64_t window = d.window_seconds();
  if (n["bucket"]) duration(c, n["bucket"], "detector.bucket", d.bucket_seconds);
  if (n["window"]) duration(c, n["window"], "detector.window", window);
  if (window % d.bucket_seconds != 0 || window / d.bucket_seconds < 1 ||
      window / d.bucket_seconds > static_cast<int64_t>(kMaxBuckets)) {
    c.error(n["window"] ? n["window"] : n, "detector.window must be a multiple of detector.bucket, at most " +
                                               std::to_string(kMaxBuckets) + " buckets");
  } else {
    d.buckets = static_cast<uint32_t>(window / d.bucket_seconds);
  }
  if (n["horizon"]) duration(c, n["horizon"], "detector.horizon", d.horizon_seconds);
  if (n["min_requests"]) number(c, n["min_requests"], "detector.min_requests", d.min_requests, 1, 1e9);
  if (n["default_threshold"]) number(c, n["default_threshold"], "detector.default_threshold", d.default_threshold, 0.0001, 1);
  if (n["alert_score"]) number(c, n["alert_score"], "detector.alert_score", d.alert_score, 0, 1);
  if (n["critical_score"]) number(c, n["critical_score"], "detector.critical_score", d.critical_score, 0, 1);
  if (n["shards"]) number(c, n["shards"], "detector.shards", d.shards, 1, 1024);
  if (n["suppress"]) duration(c, n["suppress"], "detector.suppress", d.suppress_seconds);
  if (const auto& cats = n["categories"]) {
    if (!cats.IsMap()) return c.error(cats, "detector.categories must map category: {threshold, weight}");
    for (const auto& kv : cats) {
      CategoryThreshold ct;
      ct.category = kv.first.as<std::string>("");
      ct.threshold = d.default_threshold;
      const std::string where = "detector.categories." + ct.category;
      if (!kv.second.IsMap()) {
        c.error(kv.second, where + " must be a map with threshold and/or weight");
        continue;
      }
      check_keys(c, kv.second, where, {"threshold", "weight"});
      if (kv.second["threshold"]) number(c, kv.second["threshold"], where + ".threshold", ct.threshold, 0.0001, 1);
      if (kv.second["weight"]) number(c, kv.second["weight"], where + ".weight", ct.weight, 0, 10);
      d.categories.push_back(ct);
    }
  }
  if (const auto& w = n["weights"]) {
    if (!w.IsMap()) {
      c.error(w, "detector.weights must map reason: weight");
    } else {
      for (const auto& kv : w) {
        std::string key = kv.first.as<std::string>("");
        double v = 1.0;
        number(c, kv.second, "detector.weights." + key, v, 0, 10);
        d.weights.emplace_back(key, v);
      }
    }
  }
  auto section = [&](const char* name, const std::set<std::string>& keys) -> YAML::Node {
    YAML::Node s = n[name];
    if (!s) return YAML::Node();
    if (!s.IsMap()) {
      c.error(s, std::string("detector.") + name + " must be a map");
      return YAML::Node();
    }
    check_keys(c, s, std::string("detector.") + name, keys);
    return s;
  };
  const std::string p = "detector.";
  if (auto h = section("harvest", {"min_hits", "long_min_hits", "output_tokens", "mixed_share", "template_share",
                                       "template_output_tokens", "output_input_ratio", "near_duplicate_share"})) {
    if (h["min_hits"]) number(c, h["min_hits"], p + "harvest.min_hits", d.harvest.min_hits, 1, 1e9);
    if (h["long_min_hits"]) number(c, h["long_min_hits"], p + "harvest.long_min_hits", d.harvest.long_min_hits, 1, 1e9);
    if (h["output_tokens"]) number(c, h["output_tokens"], p + "harvest.output_tokens", d.harvest.output_tokens, 0, 1e9);
    if (h["mixed_share"]) number(c, h["mixed_share"], p + "harvest.mixed_share", d.harvest.mixed_share, 0.0001, 1);
    if (h["template_share"]) number(c, h["template_share"], p + "harvest.template_share", d.harvest.template_share, 0.0001, 1);
    if (h["output_input_ratio"])
      number(c, h["output_input_ratio"], p + "harvest.output_input_ratio", d.harvest.output_input_ratio, 0, 1e9);
    if (h["template_output_tokens"])
      number(c, h["template_output_tokens"], p + "harvest.template_output_tokens", d.harvest.template_output_tokens, 0, 1e9);
    if (h["near_duplicate_share"])
      number(c, h["near_duplicate_share"], p + "harvest.near_duplicate_share", d.harvest.near_duplicate_share, 0.0001, 1);
  }
  if (auto h = section("logit_probe", {"top_logprobs", "bias_entries", "max_tokens", "share", "repetition",
                                       "min_requests", "min_signals"})) {
    auto& l = d.logit_probe;
    if (h["top_logprobs"]) number(c, h["top_logprobs"], p + "logit_probe.top_logprobs", l.top_logprobs, 1, 1e6);
    if (h["bias_entries"]) number(c, h["bias_entries"], p + "logit_probe.bias_entries", l.bias_entries, 1, 1e9);
    if (h["max_tokens"]) number(c, h["max_tokens"], p + "logit_probe.max_tokens", l.max_tokens, 0, 1e9);
    if (h["share"]) number(c, h["share"], p + "logit_probe.share", l.share, 0.0001, 1);
    if (h["repetition"]) number(c, h["repetition"], p + "logit_probe.repetition", l.repetition, 0, 1);
    if (h["min_requests"]) number(c, h["min_requests"], p + "logit_probe.min_requests", l.min_requests, 1, 1e9);
    if (h["min_signals"]) number(c, h["min_signals"], p + "logit_probe.min_signals", l.min_signals, 2, 4);
  }
  if (auto h = section("extraction", {"category", "min_hits"})) {
    if (h["category"]) scalar(c, h["category"], p + "extraction.category", d.extraction.category);
    if (h["min_hits"]) number(c, h["min_hits"], p + "extraction.min_hits", d.extraction.min_hits, 1, 1e9);
  }
  if (auto h = section("corroboration", {"n_share", "temperatures", "diversity", "flat_hours", "rate_per_hour",
                                         "ips", "keys"})) {
    auto& k = d.corroboration;
    if (h["n_share"]) number(c, h["n_share"], p + "corroboration.n_share", k.n_share, 0, 1);
    if (h["temperatures"]) number(c, h["temperatures"], p + "corroboration.temperatures", k.temperatures, 1, 16);
    if (h["diversity"]) number(c, h["diversity"], p + "corroboration.diversity", k.diversity, 0, 1);
    if (h["flat_hours"]) number(c, h["flat_hours"], p + "corroboration.flat_hours", k.flat_hours, 0, 1);
    if (h["rate_per_hour"]) number(c, h["rate_per_hour"], p + "corroboration.rate_per_hour", k.rate_per_hour, 0, 1e9);
    if (h["ips"]) number(c, h["ips"], p + "corroboration.ips", k.ips, 1, 1e6);
    if (h["keys"]) number(c, h["keys"], p + "corroboration.keys", k.keys, 1, 1e6);
  }
  if (auto h = section("cluster", {"enabled", "min_accounts", "harvest_share", "output_tokens",
                                   "long_output_tokens", "member_min_requests", "member_share", "interval", "idle", "max_fingerprints",
                                   "max_names", "members_listed"})) {
    auto& k = d.cluster;
    if (h["enabled"]) boolean(c, h["enabled"], p + "cluster.enabled", k.enabled);
    if (h["min_accounts"]) number(c, h["min_accounts"], p + "cluster.min_accounts", k.min_accounts, 2, 64);
    if (h["harvest_share"]) number(c, h["harvest_share"], p + "cluster.harvest_share", k.harvest_share, 0, 1);
    if (h["output_tokens"]) number(c, h["output_tokens"], p + "cluster.output_tokens", k.output_tokens, 0, 1e9);
    if (h["long_output_tokens"])
      number(c, h["long_output_tokens"], p + "cluster.long_output_tokens", k.long_output_tokens, 0, 1e9);
    if (h["member_min_requests"])
      number(c, h["member_min_requests"], p + "cluster.member_min_requests", k.member_min_requests, 1, 1e9);
    if (h["member_share"]) number(c, h["member_share"], p + "cluster.member_share", k.member_share, 0, 1);
    if (h["interval"]) duration(c, h["interval"], p + "cluster.interval", k.interval_seconds);
    if (h["idle"]) duration(c, h["idle"], p + "cluster.idle", k.idle_seconds);
    if (h["max_fingerprints"])
      number(c, h["max_fingerprints"], p + "cluster.max_fingerprints", k.max_fingerprints, 1, 1e8);
    if (h["max_names"]) number(c, h["max_names"], p + "cluster.max_names", k.max_names, 1, 1e8);
    if (h["members_listed"]) number(c, h["members_listed"], p + "cluster.members_listed", k.members_listed, 0, 64);
  }
}

Result<Config> load_node(const YAML::Node& root, Ctx& c) {
  Config cfg;
  if (root.IsNull()) return cfg;
  if (!root.IsMap()) {
    c.error(root, "the config must be a YAML map");
  } else {
    check_keys(c, root, "the config", {"fields", "parse", "limits", "detector", "report", "tail"});
    if (root["fields"]) load_fields(c, root["fields"], cfg);
    if (const auto& p = root["parse"]) {
      if (p.IsMap()) {
        check_keys(c, p, "parse", {"full_validation"});
        if (p["full_validation"]) boolean(c, p["full_validation"], "parse.full_validation", cfg.parse.full_validation);
      } else {
        c.error(p, "parse must be a map");
      }
    }
    if (const auto& l = root["limits"]) {
      if (l.IsMap()) {
        check_keys(c, l, "limits", {"max_line_bytes", "chunk_bytes", "max_accounts", "account_idle", "max_account_bytes"});
        uint64_t v = cfg.framer.max_line_bytes;
        if (l["max_line_bytes"]) size(c, l["max_line_bytes"], "limits.max_line_bytes", v);
        cfg.framer.max_line_bytes = v;
        v = cfg.framer.chunk_bytes;
        if (l["chunk_bytes"])  // every pipeline slot allocates a chunk up front
          size(c, l["chunk_bytes"], "limits.chunk_bytes", v, uint64_t{1} << 30, "at most 1GiB");
        cfg.framer.chunk_bytes = v;
        if (l["max_accounts"]) number(c, l["max_accounts"], "limits.max_accounts", cfg.detector.max_accounts, 1, 1e9);
        if (l["account_idle"]) duration(c, l["account_idle"], "limits.account_idle", cfg.detector.account_idle_seconds);
        if (l["max_account_bytes"])  // longer ids: first bytes + "~" + 16 hex digits of the full id's hash
          number(c, l["max_account_bytes"], "limits.max_account_bytes", cfg.detector.max_account_bytes, 32, 65536);
      } else {
        c.error(l, "limits must be a map");
      }
    }
    if (root["detector"]) load_detector(c, root["detector"], cfg);
    if (const auto& t = root["tail"]) {
      if (t.IsMap()) {
        check_keys(c, t, "tail", {"checkpoint_interval", "poll_interval_ms", "rotate_wait", "max_files"});
        if (t["checkpoint_interval"])
          duration(c, t["checkpoint_interval"], "tail.checkpoint_interval", cfg.tail.checkpoint_interval_seconds);
        if (t["poll_interval_ms"]) number(c, t["poll_interval_ms"], "tail.poll_interval_ms", cfg.tail.poll_interval_ms, 10, 60000);
        if (t["rotate_wait"]) duration(c, t["rotate_wait"], "tail.rotate_wait", cfg.tail.rotate_wait_seconds);
        if (t["max_files"]) number(c, t["max_files"], "tail.max_files", cfg.tail.max_files, 1, 1000000);
        if (cfg.tail.checkpoint_interval_seconds < 1) c.error(t, "tail.checkpoint_interval must be at least 1s");
      } else {
        c.error(t, "tail must be a map");
      }
    }
    if (const auto& r = root["report"]) {
      if (r.IsMap()) {
        check_keys(c, r, "report", {"top"});
        if (r["top"]) number(c, r["top"], "report.top", cfg.report_top, 0, 10000);
      } else {
        c.error(r, "report must be a map");
      }
    }
  }
  if (!c.errors.empty()) {
    std::string all;
    for (const auto& e : c.errors) all += (all.empty() ? "" : "\n") + e;
    return make_error(all);
  }
  return cfg;
}

}  // namespace

Result<int64_t> parse_duration_seconds(const std::string& text) {
  if (text.empty()) return make_error("empty duration");
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 12) return make_error("bad duration '" + text + "' (use e.g. 90s, 5m, 1h, 2d)");
  int64_t v = std::stoll(text.substr(0, i));
  std::string unit = text.substr(i);
  if (unit.empty() || unit == "s") return v;
  if (unit == "m") return v * 60;
  if (unit == "h") return v * 3600;
  if (unit == "d") return v * 86400;
  return make_error("bad duration unit in '" + text + "' (use s, m, h or d)");
}

Result<uint64_t> parse_size_bytes(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 15) return make_error("bad size '" + text + "' (use e.g. 4096, 64KiB, 8MiB, 1GiB)");
  uint64_t v = std::stoull(text.substr(0, i));
  std::string unit = text.substr(i);
  unsigned shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "KiB" || unit == "K") shift = 10;
  else if (unit == "MiB" || unit == "M") shift = 20;
  else if (unit == "GiB" || unit == "G") shift = 30;
  else return make_error("bad size unit in '" + text + "' (use KiB, MiB or GiB)");
  if (v > (UINT64_MAX >> shift)) return make_error("size '" + text + "' is too large");  // would wrap
  return v << shift;
}

Result<Config> load_config_text(const std::string& yaml, const std::string& name) {
  Ctx c{name, {}};
  try {
    return load_node(YAML::Load(yaml), c);
  } catch (const YAML::Exception& e) {
    return make_error(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<Config> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return load_config_text(ss.str(), path);
}

}  // namespace ds
