// The `scan` and `rules` subcommands: option structs filled by main's CLI
// parser, and functions that run them. Exit codes: 0 ok, 1 runtime failure,
// 2 usage/config/rule error.
#pragma once
#include <string>
#include <vector>

namespace ds {

struct ScanArgs {
  std::string config;
  std::vector<std::string> rules;  // empty = bundled rules
  int threads = 0;                 // 0 = all cores
  std::string alerts = "-";
  std::vector<std::string> fields;  // NAME=POINTER overrides
  std::string stats;
  std::string report;
  std::string metrics_listen;
  // Alert delivery and metrics (src/sink/delivery.hpp, src/metrics).
  std::vector<std::string> alertmanagers;
  std::vector<std::string> webhooks;
  std::string delivery_timeout = "10s";
  std::string runbook_url;
  int summary = -1;  // -1 = when stderr is a terminal
  std::vector<std::string> inputs;
};

int run_scan(const ScanArgs& args);
// `tail` (tail_command.cpp).
struct TailArgs : ScanArgs {
  std::string state_dir;
  std::string checkpoint_interval;  // "" = config tail.checkpoint_interval
  bool reset_state = false;         // start fresh over an unreadable checkpoint
};
int run_tail(const TailArgs& args);
int run_rules_check(const std::vector<std::string>& paths);
int run_rules_test(const std::vector<std::string>& paths);

// The bundled rules directory: $DISTILLSCAN_RULES, else next to the binary
// (../share/distillscan/rules or the source tree's rules/).
std::vector<std::string> default_rule_paths();

}  // namespace ds
