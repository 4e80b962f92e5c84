#include "app/config.hpp"

#include "detect/account_state.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
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
  if (s.empty() || *end != 0 || v < lo || v > hi) {
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
  if (!r || *r <= 0) {
    c.error(n, what + ": " + (r ? std::string("must be positive") : r.error().message));
    return;
  }
  out = *r;
}

void size(Ctx& c, const YAML::Node& n, const std::string& what, uint64_t& out) {
  std::string s;
  if (!scalar(c, n, what, s)) return;
  auto r = parse_size_bytes(s);
  if (!r || *r == 0) {
    c.error(n, what + ": " + (r ? std::string("must be positive") : r.error().message));
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
             {"bucket", "window", "min_requests", "default_threshold", "categories", "alert_score", "critical_score",
              "shards", "suppress"});
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
}

Result<Config> load_node(const YAML::Node& root, Ctx& c) {
  Config cfg;
  if (root.IsNull()) return cfg;
  if (!root.IsMap()) {
    c.error(root, "the config must be a YAML map");
  } else {
    check_keys(c, root, "the config", {"fields", "parse", "limits", "detector", "report"});
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
        check_keys(c, l, "limits", {"max_line_bytes", "chunk_bytes", "max_accounts", "account_idle"});
        uint64_t v = cfg.framer.max_line_bytes;
        if (l["max_line_bytes"]) size(c, l["max_line_bytes"], "limits.max_line_bytes", v);
        cfg.framer.max_line_bytes = v;
        v = cfg.framer.chunk_bytes;
        if (l["chunk_bytes"]) size(c, l["chunk_bytes"], "limits.chunk_bytes", v);
        cfg.framer.chunk_bytes = v;
        if (l["max_accounts"]) number(c, l["max_accounts"], "limits.max_accounts", cfg.detector.max_accounts, 1, 1e9);
        if (l["account_idle"]) duration(c, l["account_idle"], "limits.account_idle", cfg.detector.account_idle_seconds);
      } else {
        c.error(l, "limits must be a map");
      }
    }
    if (root["detector"]) load_detector(c, root["detector"], cfg);
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
  if (unit.empty() || unit == "B") return v;
  if (unit == "KiB" || unit == "K") return v << 10;
  if (unit == "MiB" || unit == "M") return v << 20;
  if (unit == "GiB" || unit == "G") return v << 30;
  return make_error("bad size unit in '" + text + "' (use KiB, MiB or GiB)");
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
