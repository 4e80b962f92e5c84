#include "app/scan_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "app/config.hpp"
#include "core/json_write.hpp"
#include "match/rule_set.hpp"
#include "pipeline/scan_pipeline.hpp"

#ifndef DS_DEFAULT_RULES_DIR
#define DS_DEFAULT_RULES_DIR "rules"
#endif

namespace ds {
namespace {

std::string stats_json(const RunStats& s) {
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
  o += "}\n";
  return o;
}

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
  std::fprintf(stderr, "\n%-4s %-32s %6s %7s %10s\n", "rank", "account", "score", "alerts", "requests");
  for (size_t i = 0; i < accounts.size() && i < top; ++i) {
    const auto& a = accounts[i];
    std::fprintf(stderr, "%-4zu %-32.32s %6.2f %7u %10llu\n", i + 1, a.account.c_str(), a.max_score, a.alerts,
                 static_cast<unsigned long long>(a.lifetime_requests));
  }
  if (accounts.size() > top) std::fprintf(stderr, "... and %zu more flagged accounts\n", accounts.size() - top);
}

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

}  // namespace

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

  PipelineOptions opt;
  opt.threads = args.threads > 0 ? static_cast<unsigned>(args.threads)
                                 : std::max(1u, std::thread::hardware_concurrency());
  opt.framer = cfg.framer;
  opt.parse = cfg.parse;
  opt.mapping = cfg.fields;
  opt.detector = cfg.detector;
  opt.rules = rules;

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
  RunStats stats = pipeline.run(inputs, **sink, tick);
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
  if (auto f = (*sink)->flush(); !f) {
    std::fprintf(stderr, "distillscan: %s\n", f.error().message.c_str());
    rc = 1;
  }
  for (const auto& e : stats.input_errors) {
    std::fprintf(stderr, "distillscan: %s\n", e.c_str());
    rc = 1;
  }
  if (!args.stats.empty()) {
    std::ofstream out(args.stats, std::ios::binary | std::ios::trunc);
    out << stats_json(stats);
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
