// distillscan-score: account-level detection quality of a distillscan run
// against the generator's labels.
//   distillscan-score --labels labels.csv --alerts alerts.jsonl [--check]
// Reads the label CSV written by distillscan-gen and the alert JSON lines
// (alert contract: "account", "time"), and prints one JSON object:
// precision/recall over accounts with traffic, per-style flagged/total,
// per-hydra-cluster coverage, flags on each hard-negative style, and
// time-to-detect per attacker style (first alert time - first_seen).
// --check exits 1 unless precision >= 0.95, recall >= 0.95, every attacker
// style has a flagged account, each hydra cluster has >= 90% of its members
// flagged and no benign style has a flag (the issue-3 quality bar).
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gen/json_text.hpp"

namespace {

struct Label {
  std::string label, style, group;
  uint64_t requests = 0;
  int64_t first_ms = -1;
};

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string labels_path, alerts_path;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--labels" && i + 1 < argc) {
      labels_path = argv[++i];
    } else if (a == "--alerts" && i + 1 < argc) {
      alerts_path = argv[++i];
    } else if (a == "--check") {
      check = true;
    } else {
      std::fprintf(stderr, "usage: distillscan-score --labels FILE --alerts FILE [--check]\n");
      return 2;
    }
  }
  if (labels_path.empty() || alerts_path.empty()) {
    std::fprintf(stderr, "usage: distillscan-score --labels FILE --alerts FILE [--check]\n");
    return 2;
  }
  std::map<std::string, Label> labels;
  {
    std::ifstream in(labels_path);
    if (!in) {
      std::fprintf(stderr, "distillscan-score: cannot read %s\n", labels_path.c_str());
      return 2;
    }
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
      if (header) {
        header = false;
        if (line.rfind("account,", 0) == 0) continue;
      }
      auto f = split_csv(line);
      if (f.size() < 3) continue;
      Label l;
      l.label = f[1];
      l.style = f[2];
      if (f.size() > 3) l.group = f[3];
      if (f.size() > 4) l.requests = std::strtoull(f[4].c_str(), nullptr, 10);
      if (f.size() > 5 && !f[5].empty()) gen::parse_rfc3339(f[5], l.first_ms);
      labels[f[0]] = l;
    }
  }
  // First alert time per account.
  std::map<std::string, int64_t> flagged;
  uint64_t alert_lines = 0, unknown = 0;
  {
    simdjson::padded_string data;
    if (simdjson::padded_string::load(alerts_path).get(data)) {
      std::fprintf(stderr, "distillscan-score: cannot read %s\n", alerts_path.c_str());
      return 2;
    }
    simdjson::dom::parser parser;
    std::string_view all(data.data(), data.size());
    size_t pos = 0;
    while (pos < all.size()) {
      size_t nl = all.find('\n', pos);
      if (nl == std::string_view::npos) nl = all.size();
      std::string_view line = all.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.empty()) continue;
      simdjson::dom::element el;
      if (parser.parse(line.data(), line.size(), true).get(el)) continue;
      std::string_view account, time;
      if (el["account"].get(account)) continue;
      ++alert_lines;
      int64_t t = -1;
      if (!el["time"].get(time)) gen::parse_rfc3339(time, t);
      std::string acct(account);
      if (!labels.count(acct)) ++unknown;
      auto it = flagged.find(acct);
      if (it == flagged.end() || (t >= 0 && (it->second < 0 || t < it->second))) flagged[acct] = t;
    }
  }

  struct StyleScore {
    std::string label;
    int total = 0, active = 0, flagged = 0;
    std::vector<double> ttd_min;
  };
  std::map<std::string, StyleScore> styles;
  std::map<std::string, std::pair<int, int>> clusters;  // hydra group -> (flagged, active)
  int tp = 0, fp = 0, fn = 0;
  for (const auto& [acct, l] : labels) {
    StyleScore& s = styles[l.style];
    s.label = l.label;
    ++s.total;
    if (l.requests == 0) continue;  // no traffic: cannot be judged
    ++s.active;
    auto it = flagged.find(acct);
    const bool hit = it != flagged.end();
    if (hit) ++s.flagged;
    if (l.label == "attacker") {
      hit ? ++tp : ++fn;
      if (hit && it->second >= 0 && l.first_ms >= 0)
        s.ttd_min.push_back(static_cast<double>(it->second - l.first_ms) / 60000.0);
      if (l.style == "hydra") {
        auto& c = clusters[l.group];
        c.second++;
        if (hit) c.first++;
      }
    } else if (hit) {
      ++fp;
    }
  }
  const double precision = tp + fp ? static_cast<double>(tp) / (tp + fp) : 1.0;
  const double recall = tp + fn ? static_cast<double>(tp) / (tp + fn) : 1.0;
  bool ok = precision >= 0.95 && recall >= 0.95;
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(4);
  o << "{\"precision\":" << precision << ",\"recall\":" << recall << ",\"true_positives\":" << tp
    << ",\"false_positives\":" << fp << ",\"false_negatives\":" << fn << ",\"alert_lines\":" << alert_lines
    << ",\"alerted_accounts_not_in_labels\":" << unknown << ",\"styles\":{";
  bool first = true;
  for (const auto& [name, s] : styles) {
    o << (first ? "" : ",") << "\"" << name << "\":{\"label\":\"" << s.label << "\",\"accounts\":" << s.total
      << ",\"active\":" << s.active << ",\"flagged\":" << s.flagged;
    if (s.label == "attacker") {
      o.precision(1);
      o << ",\"ttd_minutes_median\":" << percentile(s.ttd_min, 0.5)
        << ",\"ttd_minutes_p90\":" << percentile(s.ttd_min, 0.9);
      o.precision(4);
      if (s.active > 0 && s.flagged == 0) ok = false;
    } else if (s.flagged > 0) {
      ok = false;
    }
    o << "}";
    first = false;
  }
  o << "},\"hydra_clusters\":{";
  first = true;
  for (const auto& [group, c] : clusters) {
    o << (first ? "" : ",") << "\"" << group << "\":{\"flagged\":" << c.first << ",\"members\":" << c.second
      << "}";
    if (c.second > 0 && c.first * 10 < c.second * 9) ok = false;
    first = false;
  }
  o << "},\"meets_quality_bar\":" << (ok ? "true" : "false") << "}\n";
  std::fputs(o.str().c_str(), stdout);
  return check && !ok ? 1 : 0;
}
