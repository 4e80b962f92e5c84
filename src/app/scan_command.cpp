#include "app/scan_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "app/config.hpp"
#include "core/json_write.hpp"
#include "match/rule_set.hpp"
#include "metrics/observability.hpp"
#include "pipeline/scan_pipeline.hpp"

#ifndef DS_DEFAULT_RULES_DIR
#define DS_DEFAULT_RULES_DIR "rules"
#endif

namespace ds {

// --stats JSON (also written by tail, with `extra` members appended).
std::string stats_json(const RunStats& s, const std::string& extra) {
  std::string o = "{\"lines\":";
  json_uint_append(o, s.lines);
  o += ",\"records\":";
  json_uint_append(o, s.records);
  o += ",\"errors\":{";
  bool first = true;
  for (size_t i = 0; i < kErrorReasonCount; ++i) {
    auto r = static_cast<ErrorReason>(i);
    if (s.errors.get(r) == 0) continue;
    if (!first) o += ',';
    first = false;
    json_escape_append(o, reason_name(r));
    o += ':';
    json_uint_append(o, s.errors.get(r));
  }
  o += "},\"bytes\":";
  json_uint_append(o, s.bytes);
  o += ",\"accounts\":";
  json_uint_append(o, s.accounts);
  o += ",\"accounts_tracked\":";
  json_uint_append(o, s.accounts_tracked);
  o += ",\"accounts_evicted\":{\"idle\":";
  json_uint_append(o, s.accounts_evicted_idle);
  o += ",\"lru\":";
  json_uint_append(o, s.accounts_evicted_lru);
  o += "},\"cluster\":{\"fingerprints\":";
  json_uint_append(o, s.cluster_fingerprints);
  o += ",\"created\":";
  json_uint_append(o, s.cluster_fingerprints_created);
  o += ",\"evicted\":{\"idle\":";
  json_uint_append(o, s.cluster_evicted_idle);
  o += ",\"lru\":";
  json_uint_append(o, s.cluster_evicted_lru);
  o += "},\"members_replaced\":";
  json_uint_append(o, s.cluster_members_replaced);
  o += ",\"names_evicted\":";
  json_uint_append(o, s.cluster_names_evicted);
  o += ",\"member_alerts\":";
  json_uint_append(o, s.cluster_member_alerts);
  o += ",\"memory_bytes\":";
  json_uint_append(o, s.cluster_memory_bytes);
  o += "},\"alerts\":";
  json_uint_append(o, s.alerts);
  o += ",\"field_type_errors\":";
  json_uint_append(o, s.field_type_errors);
  o += ",\"input_errors\":";
  json_uint_append(o, s.input_errors.size());
  o += ",\"seconds\":";
  json_number_append(o, s.seconds);
  o += ",\"peak_rss_bytes\":";
  json_uint_append(o, s.peak_rss_bytes);
  const auto& c = s.cpu;
  if (c.reader + c.workers + c.shards + c.collector > 0) {  // scan only (set when a non-live run ends)
    o += ",\"cpu_seconds\":{\"reader\":";
    json_number_append(o, c.reader);
    o += ",\"workers\":";
    json_number_append(o, c.workers);
    o += ",\"shards\":";
    json_number_append(o, c.shards);
    o += ",\"collector\":";
    json_number_append(o, c.collector);
    o += '}';
  }
  o += extra;
  o += "}\n";
  return o;
}

namespace {

void print_progress(const Progress& p, double elapsed) {
  double mb = static_cast<double>(p.bytes.load()) / 1e6;
  double rate = elapsed > 0 ? mb / elapsed : 0;
  uint64_t done = p.raw_bytes_done.load(), total = p.raw_bytes_total.load();
  char eta[32] = "--";
  if (total > 0 && done > 0 && done <= total && elapsed > 0) {
    double secs = elapsed * static_cast<double>(total - done) / static_cast<double>(done);
    std::snprintf(eta, sizeof eta, "%.0fs", secs);
  }
  double pct = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 0;
  std::fprintf(stderr, "\r\033[K%8.1f MB  %7.1f MB/s  %5.1f%%  ETA %s  %llu lines", mb, rate, pct, eta,
               static_cast<unsigned long long>(p.lines.load()));
}

// Ranked table of the riskiest accounts (flagged ones by their highest alert
// score), each with its top reasons.
void print_ranked_table(std::vector<AccountSummary> accounts, uint32_t top) {
  accounts.erase(std::remove_if(accounts.begin(), accounts.end(), [](const auto& a) { return a.alerts == 0; }),
                 accounts.end());
  std::sort(accounts.begin(), accounts.end(), [](const auto& a, const auto& b) {
    if (a.max_score != b.max_score) return a.max_score > b.max_score;
    return a.account < b.account;
  });
  if (accounts.empty()) {
    std::fprintf(stderr, "no account flagged\n");
    return;
  }
  std::fprintf(stderr, "\n%-4s %-28s %6s %7s %10s  %s\n", "rank", "account", "score", "alerts", "requests",
               "top reasons (value/threshold)");
  for (size_t i = 0; i < accounts.size() && i < top; ++i) {
    const auto& a = accounts[i];
    std::string why;
    for (size_t r = 0; r < a.reasons.size() && r < 3; ++r) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s%s %.3g/%.3g", r ? ", " : "", a.reasons[r].detector.c_str(),
                    a.reasons[r].value, a.reasons[r].threshold);
      why += buf;
    }
    if (a.cluster_member) why += " [cluster " + a.cluster.id + ", " + std::to_string(a.cluster.size) + " accounts]";
    std::fprintf(stderr, "%-4zu %-28.28s %6.2f %7u %10llu  %s\n", i + 1, a.account.c_str(), a.max_score, a.alerts,
                 static_cast<unsigned long long>(a.lifetime_requests), why.c_str());
  }
  if (accounts.size() > top) std::fprintf(stderr, "... and %zu more flagged accounts\n", accounts.size() - top);
}

// --report: one JSON line per tracked account (sorted by account id) with its
// features, current score and reasons, and its highest alert score.
bool write_report(const std::string& path, std::vector<AccountSummary> accounts,
                  const std::vector<std::string>& categories) {
  std::sort(accounts.begin(), accounts.end(), [](const auto& a, const auto& b) { return a.account < b.account; });
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string o;
  for (const auto& a : accounts) {
    const auto& f = a.features;
    o.clear();
    o += "{\"account\":";
    json_escape_append(o, a.account);
    o += ",\"flagged\":";
    o += a.alerts ? "true" : "false";
    o += ",\"max_score\":";
    json_number_append(o, a.max_score);
    o += ",\"score\":";
    json_number_append(o, a.score);
    o += ",\"alerts\":";
    json_uint_append(o, a.alerts);
    o += ",\"requests\":";
    json_uint_append(o, a.lifetime_requests);
    o += ",\"first_seen\":";
    json_escape_append(o, format_time_utc(a.first_seen_ms));
    o += ",\"last_seen\":";
    json_escape_append(o, format_time_utc(a.last_seen_ms));
    auto num = [&](const char* k, double v) {
      o += ",\"";
      o += k;
      o += "\":";
      json_number_append(o, std::round(v * 10000) / 10000);
    };
    o += ",\"features\":{\"window_requests\":";
    json_uint_append(o, f.window_requests);
    o += ",\"horizon_requests\":";
    json_uint_append(o, f.long_requests);
    o += ",\"window_hits\":";
    json_uint_append(o, f.window_hits);
    o += ",\"horizon_hits\":";
    json_uint_append(o, f.long_hits);
    num("hit_share", f.hit_share);
    o += ",\"top_category\":";
    if (f.best_category >= 0 && static_cast<size_t>(f.best_category) < categories.size())
      json_escape_append(o, categories[static_cast<size_t>(f.best_category)]);
    else
      o += "null";
    num("top_category_share", f.best_category_share);
    num("output_tokens_per_hit", f.output_per_hit);
    num("output_tokens_per_request", f.output_per_request);
    num("output_input_ratio", f.output_input_ratio);
    num("n_share", f.n_share);
    num("logprobs_share", f.logprobs_share);
    num("max_logprobs_share", f.top_logprobs_share);
    num("logit_bias_share", f.bias_share);
    num("tiny_max_tokens_share", f.tiny_output_share);
    num("single_turn_share", f.single_turn_share);
    num("tool_share", f.tool_share);
    num("distinct_prompts", f.distinct_prompts);
    num("prompt_diversity", f.diversity);
    num("near_duplicate_share", f.near_duplicate_share);
    num("temperatures", f.temperatures);
    num("ips", f.ips);
    num("keys", f.keys);
    num("user_agents", f.user_agents);
    num("hour_entropy", f.hour_entropy);
    num("span_hours", f.span_hours);
    num("gap_cv", f.gap_cv);
    num("rate_per_hour", f.rate_per_hour);
    o += "},\"reasons\":[";
    reasons_json_append(o, a.reasons);
    o += ']';
    if (a.cluster_member) {
      o += ",\"cluster\":{\"id\":";
      json_escape_append(o, a.cluster.id);
      o += ",\"size\":";
      json_uint_append(o, a.cluster.size);
      o += '}';
    }
    o += "}\n";
    out << o;
  }
  return static_cast<bool>(out);
}

}  // namespace

std::shared_ptr<const RuleSet> load_rules_or_print(const std::vector<std::string>& paths, bool& ok) {
  std::vector<RuleDiagnostic> diags;
  auto r = RuleSet::load(paths, &diags);
  for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!r) {
    if (diags.empty()) std::fprintf(stderr, "distillscan: %s\n", r.error().message.c_str());
    ok = false;
    return nullptr;
  }
  ok = true;
  return *r;
}


std::vector<std::string> default_rule_paths() {
  if (const char* env = std::getenv("DISTILLSCAN_RULES"); env && *env) return {env};
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto installed = exe.parent_path().parent_path() / "share" / "distillscan" / "rules";
    if (std::filesystem::is_directory(installed, ec)) return {installed.string()};
  }
  return {DS_DEFAULT_RULES_DIR};
}

int run_scan(const ScanArgs& args) {
  Config cfg;
  if (!args.config.empty()) {
    auto c = load_config_file(args.config);
    if (!c) {
      std::fprintf(stderr, "%s\n", c.error().message.c_str());
      return 2;
    }
    cfg = std::move(*c);
  }
  for (const auto& f : args.fields) {
    auto r = cfg.fields.set_from_arg(f);
    if (!r) {
      std::fprintf(stderr, "distillscan: --field %s: %s\n", f.c_str(), r.error().message.c_str());
      return 2;
    }
  }
  bool ok = false;
  auto rules = load_rules_or_print(args.rules.empty() ? default_rule_paths() : args.rules, ok);
  if (!ok) return 2;

  auto sink = JsonlAlertSink::open(args.alerts, /*append=*/false);
  if (!sink) {
    std::fprintf(stderr, "distillscan: %s\n", sink.error().message.c_str());
    return 1;
  }

  // --- metrics and alert delivery (src/metrics/observability.hpp) ---
  ObservabilityOptions oo;
  oo.metrics_listen = args.metrics_listen;
  oo.alertmanagers = args.alertmanagers;
  oo.webhooks = args.webhooks;
  oo.runbook_url = args.runbook_url;
  oo.resolve_after = std::chrono::seconds(2 * cfg.detector.suppress_seconds);
  if (auto t = parse_duration_seconds(args.delivery_timeout); t && *t >= 0) {
    oo.delivery_timeout = std::chrono::seconds(*t);
  } else {
    std::fprintf(stderr, "distillscan: --delivery-timeout '%s': expected a duration like 10s\n",
                 args.delivery_timeout.c_str());
    return 2;
  }
  for (const auto& r : rules->rules()) oo.rule_ids.push_back(r.id);
  for (const auto& c : rules->categories()) oo.detectors.push_back(c + "_rate");
  auto obs = make_observability(oo, std::move(*sink));
  if (!obs) {
    std::fprintf(stderr, "distillscan: %s\n", obs.error().message.c_str());
    return obs.error().message.find("cannot listen") != std::string::npos ? 1 : 2;
  }
  // --- end metrics and alert delivery ---

  PipelineOptions opt;
  opt.threads = args.threads > 0 ? static_cast<unsigned>(args.threads)
                                 : std::max(1u, std::thread::hardware_concurrency());
  opt.framer = cfg.framer;
  opt.parse = cfg.parse;
  opt.mapping = cfg.fields;
  opt.detector = cfg.detector;
  opt.rules = rules;
  opt.metrics = obs->metrics.get();

  const bool tty = isatty(STDERR_FILENO) == 1;
  std::vector<std::string> inputs = args.inputs.empty() ? std::vector<std::string>{"-"} : args.inputs;
  ScanPipeline pipeline(opt);
  auto start = std::chrono::steady_clock::now();
  std::function<void(const Progress&)> tick;
  if (tty) {
    tick = [&](const Progress& p) {
      print_progress(p, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    };
  }
  RunStats stats = pipeline.run(inputs, *obs->sinks, tick);
  if (tty) {
    print_progress(
        [&]() -> const Progress& {
          static Progress p;
          p.bytes = stats.bytes;
          p.lines = stats.lines;
          return p;
        }(),
        stats.seconds);
    std::fprintf(stderr, "\n");
  }

  int rc = 0;
  if (auto f = obs->sinks->flush(); !f) {
    std::fprintf(stderr, "distillscan: %s\n", f.error().message.c_str());
    rc = 1;
  }
  for (const auto& e : stats.input_errors) {
    std::fprintf(stderr, "distillscan: %s\n", e.c_str());
    rc = 1;
  }
  if (!args.stats.empty()) {
    std::ofstream out(args.stats, std::ios::binary | std::ios::trunc);
    out << stats_json(stats, {});
    if (!out) {
      std::fprintf(stderr, "distillscan: %s: cannot write stats\n", args.stats.c_str());
      rc = 1;
    }
  }
  bool summary = args.summary == -1 ? tty : args.summary == 1;
  if (summary) {
    std::fprintf(stderr, "%llu lines, %llu records, %llu errors, %llu alerts in %.2fs\n",
                 static_cast<unsigned long long>(stats.lines), static_cast<unsigned long long>(stats.records),
                 static_cast<unsigned long long>(stats.errors.total()),
                 static_cast<unsigned long long>(stats.alerts), stats.seconds);
    print_ranked_table(pipeline.account_summaries(), cfg.report_top);
  }
  if (!args.report.empty() &&
      !write_report(args.report, pipeline.account_summaries(), rules ? rules->categories() : std::vector<std::string>{})) {
    std::fprintf(stderr, "distillscan: %s: cannot write report\n", args.report.c_str());
    rc = 1;
  }
  return rc;
}

int run_rules_check(const std::vector<std::string>& paths) {
  bool ok = false;
  auto rules = load_rules_or_print(paths.empty() ? default_rule_paths() : paths, ok);
  if (!ok) return 2;
  std::printf("ok: %zu rules in %zu categories\n", rules->rules().size(), rules->categories().size());
  return 0;
}

int run_rules_test(const std::vector<std::string>& paths) {
  bool ok = false;
  auto rules = load_rules_or_print(paths.empty() ? default_rule_paths() : paths, ok);
  if (!ok) return 2;
  auto failures = rules->run_examples();
  size_t examples = 0;
  for (const auto& r : rules->rules()) examples += r.examples.size();
  for (const auto& f : failures) std::fprintf(stderr, "%s\n", f.format().c_str());
  std::printf("%zu passed, %zu failed\n", examples - failures.size(), failures.size());
  return failures.empty() ? 0 : 1;
}

}  // namespace ds
