// distillscan entry point: parses the command line and dispatches. Only wires.
#include <CLI/CLI.hpp>

#include <csignal>

#include "app/consume_command.hpp"
#include "app/scan_command.hpp"
#include "distillscan/version.hpp"

int main(int argc, char** argv) {
  // A write past the file size limit (ulimit -f, systemd LimitFSIZE=) fails
  // with EFBIG instead of killing the process: the alerts sink holds what it
  // could not write, like on a full disk (sink/alert_sink.hpp).
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"distillscan: find accounts that distil your models, in LLM API request logs"};
  app.set_version_flag("--version", std::string("distillscan ") + ds::kVersion);
  app.require_subcommand(1);

  ds::ScanArgs scan;
  auto* sc = app.add_subcommand("scan", "Replay logs (plain, .gz, .zst; - = stdin) to the end, then exit");
  sc->add_option("-c,--config", scan.config, "YAML config file")->check(CLI::ExistingFile);
  sc->add_option("-r,--rules", scan.rules, "Rule file or directory (default: the bundled rules/)");
  sc->add_option("-j,--threads", scan.threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 256));
  sc->add_option("-o,--alerts", scan.alerts, "Alert JSON lines; - = stdout");
  sc->add_option("--field", scan.fields, "Override one field mapping: NAME=/json/pointer (repeatable)");
  sc->add_option("--stats", scan.stats, "Write run statistics as JSON at exit");
  sc->add_option("--report", scan.report, "Write one JSON line per tracked account (features, score) at exit");
  sc->add_flag("--summary,!--no-summary", scan.summary,
               "Print the ranked table of flagged accounts on stderr (default: when stderr is a terminal)");
  // Metrics and alert delivery (src/metrics, src/sink/delivery.hpp).
  sc->add_option("--metrics-listen", scan.metrics_listen,
                 "Serve Prometheus /metrics on HOST:PORT (default: off; PORT alone = 127.0.0.1:PORT)");
  sc->add_option("--alertmanager", scan.alertmanagers,
                 "Send alerts to this Alertmanager (API v2), e.g. http://127.0.0.1:9093 (repeatable)");
  sc->add_option("--webhook", scan.webhooks, "POST alerts as JSON arrays to this http:// URL (repeatable)");
  sc->add_option("--delivery-timeout", scan.delivery_timeout,
                 "At exit, wait at most this long for queued alerts to be delivered (default: 10s)");
  sc->add_option("--runbook-url", scan.runbook_url, "runbook_url annotation of Alertmanager alerts");
  sc->add_option("inputs", scan.inputs, "Input files (default: stdin)");

  ds::TailArgs tail;
  auto* tl = app.add_subcommand("tail", "Follow files (paths or globs) through rotation; resume from checkpoints");
  tl->add_option("-c,--config", tail.config, "YAML config file")->check(CLI::ExistingFile);
  tl->add_option("-r,--rules", tail.rules, "Rule file or directory (default: the bundled rules/); reloaded on SIGHUP");
  tl->add_option("-j,--threads", tail.threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 256));
  tl->add_option("-o,--alerts", tail.alerts, "Alert JSON lines, appended; - = stdout");
  tl->add_option("--field", tail.fields, "Override one field mapping: NAME=/json/pointer (repeatable)");
  tl->add_option("--stats", tail.stats, "Write cumulative run statistics as JSON at every checkpoint and at exit");
  tl->add_option("--metrics-listen", tail.metrics_listen,
                 "Serve Prometheus /metrics on HOST:PORT (default: 127.0.0.1:9741; off = none)");
  tl->add_option("--alertmanager", tail.alertmanagers, "Send alerts to this Alertmanager (API v2) (repeatable)");
  tl->add_option("--webhook", tail.webhooks, "POST alerts as JSON arrays to this http:// URL (repeatable)");
  tl->add_option("--delivery-timeout", tail.delivery_timeout,
                 "At exit, wait at most this long for queued alerts to be delivered (default: 10s)");
  tl->add_option("--runbook-url", tail.runbook_url, "runbook_url annotation of Alertmanager alerts");
  tl->add_option("--state-dir", tail.state_dir, "Checkpoints (file positions, statistics, detector state)");
  tl->add_option("--checkpoint-interval", tail.checkpoint_interval,
                 "Checkpoint (and --stats) interval, e.g. 10s (default: config tail.checkpoint_interval, 10s)");
  tl->add_flag("--reset-state", tail.reset_state,
               "Start fresh when the checkpoint in --state-dir is corrupt or incompatible (default: refuse)");
  tl->add_option("inputs", tail.inputs, "Files or globs to follow")->required();

  // Long-running network modes (src/ingest): shared options as `tail`.
  auto add_live_common = [](CLI::App* c, ds::TailArgs& a) {
    c->add_option("-c,--config", a.config, "YAML config file")->check(CLI::ExistingFile);
    c->add_option("-r,--rules", a.rules, "Rule file or directory (default: the bundled rules/); reloaded on SIGHUP");
    c->add_option("-j,--threads", a.threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 256));
    c->add_option("-o,--alerts", a.alerts, "Alert JSON lines, appended; - = stdout");
    c->add_option("--field", a.fields, "Override one field mapping: NAME=/json/pointer (repeatable)");
    c->add_option("--stats", a.stats, "Write cumulative run statistics as JSON at every checkpoint and at exit");
    c->add_option("--metrics-listen", a.metrics_listen, "Serve Prometheus /metrics on HOST:PORT (off = none)");
    c->add_option("--alertmanager", a.alertmanagers, "Send alerts to this Alertmanager (API v2) (repeatable)");
    c->add_option("--webhook", a.webhooks, "POST alerts as JSON arrays to this http:// URL (repeatable)");
    c->add_option("--delivery-timeout", a.delivery_timeout, "At exit, wait at most this long for alert delivery");
    c->add_option("--runbook-url", a.runbook_url, "runbook_url annotation of Alertmanager alerts");
    c->add_option("--state-dir", a.state_dir, "Checkpoints (positions, statistics, detector state)");
    c->add_option("--checkpoint-interval", a.checkpoint_interval, "Checkpoint (and --stats) interval (default 10s)");
    c->add_flag("--reset-state", a.reset_state, "Start fresh over a corrupt or foreign checkpoint (default: refuse)");
  };
  ds::ConsumeArgs consume;
  auto* co = app.add_subcommand("consume", "Consume a Kafka topic in a consumer group; commit offsets after checkpoints");
  add_live_common(co, consume);
  co->add_option("--brokers", consume.brokers, "Kafka bootstrap servers HOST:PORT[,HOST:PORT...]")->required();
  co->add_option("--topic", consume.topic, "Topic of JSON-line request logs, keyed by account")->required();
  co->add_option("--group", consume.group, "Consumer group id (one per deployment)")->required();
  co->add_option("-X", consume.kafka_props, "librdkafka setting KEY=VALUE (repeatable), e.g. -X session.timeout.ms=10000");
  co->add_option("--rebuild", consume.rebuild,
                 "On gaining a partition without state, re-read this much of its past (by message time) with alerts "
                 "suppressed; by message timestamp (default: 1d), or all = everything retained");

  co->add_option("--cluster-topic", consume.cluster_topic,
                 "One-partition topic where instances share cluster fingerprints (default: TOPIC.clusters; off = "
                 "each instance detects clusters among its own partitions only)");

  ds::ListenArgs listen;
  auto* li = app.add_subcommand("listen", "Accept JSON lines pushed over TCP (gateways); backpressure, never drop");
  add_live_common(li, listen);
  li->add_option("--tcp", listen.tcp, "Listen on HOST:PORT (default 127.0.0.1:9750)");
  li->add_option("--max-connections", listen.max_connections, "Concurrent connections (default 256; more are closed)");
  li->add_option("--max-line", listen.max_line, "Longest line accepted (default: limits.max_line_bytes)");
  li->add_option("--idle-timeout", listen.idle_timeout, "Close a connection silent this long (default 5m)");
  li->add_option("--drain-timeout", listen.drain_timeout, "On SIGTERM, let connections finish this long (default 5s)");
  li->add_option("--buffer", listen.buffer, "Bytes buffered before sockets stop being read (default: limits.chunk_bytes)");
  li->add_option("--port-file", listen.port_file, "Write the bound HOST:PORT to this file");

  std::vector<std::string> check_paths, test_paths;
  auto* rules = app.add_subcommand("rules", "Work with rule files");
  rules->require_subcommand(1);
  auto* check = rules->add_subcommand("check", "Compile rules; errors as FILE:LINE: message");
  check->add_option("paths", check_paths, "Rule files or directories (default: bundled)");
  auto* test = rules->add_subcommand("test", "Run the examples embedded in the rules");
  test->add_option("paths", test_paths, "Rule files or directories (default: bundled)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (sc->parsed()) return ds::run_scan(scan);
  if (tl->parsed()) return ds::run_tail(tail);
  if (co->parsed()) return ds::run_consume(consume);
  if (li->parsed()) return ds::run_listen(listen);
  if (check->parsed()) return ds::run_rules_check(check_paths);
  if (test->parsed()) return ds::run_rules_test(test_paths);
  return 2;
}
