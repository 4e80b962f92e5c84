// distillscan-gen: deterministic synthetic LLM gateway logs (JSON lines) with
// labelled attacker and benign populations, for benchmarks and detection
// quality tests. Same options => byte-identical output.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "corpus.hpp"

namespace {

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: distillscan-gen [OPTIONS]\n"
               "  --seed N              PRNG seed (default 1)\n"
               "  --accounts N          number of accounts (default 400)\n"
               "  --hours H             event-time span in hours (default 24)\n"
               "  --start TIME          first event time, RFC 3339 (default 2026-11-01T00:00:00Z)\n"
               "  --target-bytes SIZE   scale the account count so the output is about SIZE\n"
               "                        (suffixes K, M, G; a dry run measures the default first)\n"
               "  --layout L            openai (default) | litellm\n"
               "  --out FILE            output file (default stdout)\n"
               "  --labels FILE         write account,label,style,group,requests,first_seen CSV\n"
               "  --mix STYLE=SHARE,..  override account shares of populations (0 disables one)\n"
               "  --volume F            multiply every per-account request rate (default 1)\n"
               "  --hydra-size A-B      hydra cluster size range (default 20-60)\n"
               "  --quiet               no summary on stderr\n"
               "  --list-populations    print the populations and exit\n");
}

bool parse_size(const char* s, double& out) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s || v < 0) return false;
  switch (*end) {
    case 'k':
    case 'K':
      v *= 1e3;
      ++end;
      break;
    case 'm':
    case 'M':
      v *= 1e6;
      ++end;
      break;
    case 'g':
    case 'G':
      v *= 1e9;
      ++end;
      break;
    default:
      break;
  }
  if (*end == 'B' || *end == 'b') ++end;
  out = v;
  return *end == '\0';
}

[[noreturn]] void bad(const char* what, const char* value) {
  std::fprintf(stderr, "distillscan-gen: invalid %s: '%s'\n", what, value ? value : "");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  gen::CorpusOptions opt;
  gen::parse_rfc3339("2026-11-01T00:00:00Z", opt.start_ms);
  const char* out_path = nullptr;
  const char* labels_path = nullptr;
  double target_bytes = 0;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) bad("option (missing value)", argv[i]);
      return argv[++i];
    };
    if (a == "--seed") {
      char* end = nullptr;
      const char* v = value();
      opt.seed = std::strtoull(v, &end, 10);
      if (*end) bad("--seed", v);
    } else if (a == "--accounts") {
      const char* v = value();
      opt.accounts = std::atoi(v);
      if (opt.accounts <= 0) bad("--accounts", v);
    } else if (a == "--hours") {
      const char* v = value();
      opt.hours = std::strtod(v, nullptr);
      if (!(opt.hours > 0)) bad("--hours", v);
    } else if (a == "--start") {
      const char* v = value();
      if (!gen::parse_rfc3339(v, opt.start_ms)) bad("--start (want RFC 3339)", v);
    } else if (a == "--target-bytes") {
      const char* v = value();
      if (!parse_size(v, target_bytes) || target_bytes <= 0) bad("--target-bytes", v);
    } else if (a == "--layout") {
      std::string_view v = value();
      if (v == "openai")
        opt.layout = gen::Layout::OpenAI;
      else if (v == "litellm")
        opt.layout = gen::Layout::LiteLLM;
      else
        bad("--layout (openai|litellm)", argv[i]);
    } else if (a == "--out") {
      out_path = value();
    } else if (a == "--labels") {
      labels_path = value();
    } else if (a == "--mix") {
      std::string spec = value();
      size_t pos = 0;
      while (pos < spec.size()) {
        size_t comma = spec.find(',', pos);
        if (comma == std::string::npos) comma = spec.size();
        std::string item = spec.substr(pos, comma - pos);
        size_t eq = item.find('=');
        if (eq == std::string::npos) bad("--mix item (want style=share)", item.c_str());
        std::string style = item.substr(0, eq);
        bool known = false;
        for (const auto& p : gen::populations()) known |= p.style == style;
        if (!known) bad("--mix style", style.c_str());
        double share = 0;
        if (!parse_size(item.c_str() + eq + 1, share)) bad("--mix share", item.c_str());
        opt.mix[style] = share;
        pos = comma + 1;
      }
    } else if (a == "--volume") {
      const char* v = value();
      opt.build.volume = std::strtod(v, nullptr);
      if (!(opt.build.volume > 0)) bad("--volume", v);
    } else if (a == "--hydra-size") {
      const char* v = value();
      if (std::sscanf(v, "%d-%d", &opt.build.hydra_min, &opt.build.hydra_max) != 2 ||
          opt.build.hydra_min < 1 || opt.build.hydra_max < opt.build.hydra_min)
        bad("--hydra-size (want A-B)", v);
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--list-populations") {
      std::printf("%-22s %-9s %6s  %s\n", "style", "label", "share", "summary");
      for (const auto& p : gen::populations())
        std::printf("%-22.*s %-9.*s %6.3f  %.*s\n", int(p.style.size()), p.style.data(), int(p.label.size()),
                    p.label.data(), p.share, int(p.summary.size()), p.summary.data());
      return 0;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "distillscan-gen: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }

  const auto t0 = std::chrono::steady_clock::now();
  if (target_bytes > 0) {
    // Dry runs (nothing written): scale the number of accounts, then correct
    // the per-account volume for what account granularity got wrong (small
    // high-volume populations do not scale smoothly).
    gen::CorpusResult pilot = gen::generate(opt, nullptr, nullptr);
    const double scale = target_bytes / static_cast<double>(std::max<uint64_t>(pilot.bytes, 1));
    const int scaled = std::max(1, static_cast<int>(std::lround(opt.accounts * scale)));
    if (!quiet)
      std::fprintf(stderr, "distillscan-gen: dry run %d accounts -> %.1f MB; using %d accounts\n",
                   opt.accounts, static_cast<double>(pilot.bytes) / 1e6, scaled);
    opt.accounts = scaled;
    gen::CorpusResult second = gen::generate(opt, nullptr, nullptr);
    const double ratio = target_bytes / static_cast<double>(std::max<uint64_t>(second.bytes, 1));
    if (ratio < 0.97 || ratio > 1.03) {
      opt.build.volume *= ratio;
      if (!quiet)
        std::fprintf(stderr, "distillscan-gen: dry run %d accounts -> %.1f MB; volume x%.3f\n", scaled,
                     static_cast<double>(second.bytes) / 1e6, opt.build.volume);
    }
  }
  std::FILE* out = stdout;
  if (out_path && std::strcmp(out_path, "-") != 0) {
    out = std::fopen(out_path, "wb");
    if (!out) {
      std::fprintf(stderr, "distillscan-gen: cannot open %s: %s\n", out_path, std::strerror(errno));
      return 1;
    }
  }
  std::FILE* labels = nullptr;
  if (labels_path) {
    labels = std::fopen(labels_path, "wb");
    if (!labels) {
      std::fprintf(stderr, "distillscan-gen: cannot open %s: %s\n", labels_path, std::strerror(errno));
      return 1;
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  gen::CorpusResult res = gen::generate(opt, out, labels);
  if (std::fflush(out) != 0 || (out != stdout && std::fclose(out) != 0)) {
    std::fprintf(stderr, "distillscan-gen: write failed: %s\n", std::strerror(errno));
    return 1;
  }
  if (labels && std::fclose(labels) != 0) {
    std::fprintf(stderr, "distillscan-gen: writing labels failed\n");
    return 1;
  }
  const auto t2 = std::chrono::steady_clock::now();
  if (!quiet) {
    const double secs = std::chrono::duration<double>(t2 - t1).count();
    const double total = std::chrono::duration<double>(t2 - t0).count();
    std::fprintf(stderr, "%-22s %8s %10s %10s %8s\n", "style", "accounts", "requests", "MB", "req/acct");
    for (const auto& [style, st] : res.by_style)
      std::fprintf(stderr, "%-22s %8d %10llu %10.1f %8.0f\n", style.c_str(), st.accounts,
                   static_cast<unsigned long long>(st.requests), static_cast<double>(st.bytes) / 1e6,
                   st.accounts ? static_cast<double>(st.requests) / st.accounts : 0.0);
    std::fprintf(stderr,
                 "{\"lines\":%llu,\"bytes\":%llu,\"accounts\":%d,\"seconds\":%.3f,\"mb_per_s\":%.1f,"
                 "\"total_seconds\":%.3f}\n",
                 static_cast<unsigned long long>(res.lines), static_cast<unsigned long long>(res.bytes),
                 opt.accounts, secs, static_cast<double>(res.bytes) / 1e6 / secs, total);
  }
  return 0;
}
