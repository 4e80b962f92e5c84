// The metric catalogue: every metric distillscan exports, declared once.
// X(id, type, name, help, label names...). `type` is counter, gauge or
// histogram; metrics marked *_scrape are computed when scraped (they
// depend on the wall clock or on state that changes between batches) and
// are served by Metrics' own collectable instead of the registry.
//
// Contract names (DESIGN.md, "Metrics"): distillscan_lines_total,
// distillscan_bytes_total, distillscan_parse_errors_total{reason},
// distillscan_rule_matches_total{rule}, distillscan_alerts_total{detector,severity},
// distillscan_accounts_tracked, distillscan_accounts_flagged,
// distillscan_event_lag_seconds, distillscan_build_info{version}.
// Account ids appear as label values only in distillscan_account_risk_score
// (top K). Every other label takes values from a fixed or configured set.
#pragma once

// clang-format off
#define DS_METRIC_CATALOGUE(X)                                                                                     \
  /* input */                                                                                                      \
  X(lines, counter, "distillscan_lines_total", "Input lines read (records + parse errors).")                      \
  X(records, counter, "distillscan_records_total", "Input lines that became events.")                             \
  X(bytes, counter, "distillscan_bytes_total", "Input bytes read (decompressed, newlines included).")             \
  X(parse_errors, counter, "distillscan_parse_errors_total", "Lines that did not become events, by reason.",       \
    "reason")                                                                                                      \
  X(field_type_errors, counter, "distillscan_field_type_errors_total",                                            \
    "Optional fields of the wrong type (record kept, field ignored).")                                             \
  X(input_errors, counter, "distillscan_input_errors_total",                                                       \
    "Inputs that could not be opened or read to their end.")                                                       \
  /* matching and detection */                                                                                     \
  X(rule_matches, counter, "distillscan_rule_matches_total", "Records matched by each rule.", "rule")              \
  X(rules_loaded, gauge, "distillscan_rules_loaded", "Rules in the active rule set.")                              \
  X(rule_reloads, counter, "distillscan_rule_reloads_total",                                                       \
    "Rule set reloads (SIGHUP in tail), by result: success or failure (the old set keeps running).", "result")     \
  X(alerts, counter, "distillscan_alerts_total",                                                                   \
    "Alerts raised, by detector and severity (an alert with several reasons counts once per detector).",           \
    "detector", "severity")                                                                                        \
  X(accounts_tracked, gauge, "distillscan_accounts_tracked", "Accounts with detector state.")                      \
  X(accounts_created, counter, "distillscan_accounts_created_total", "Account states created.")                    \
  X(accounts_evicted, counter, "distillscan_accounts_evicted_total",                                               \
    "Account states evicted, by reason: idle (TTL in event time) or lru (account cap reached).", "reason")         \
  X(accounts_flagged, gauge_scrape, "distillscan_accounts_flagged",                                                \
    "Accounts with an active alert (an alert within the resolve interval).")                                       \
  X(account_risk_score, gauge_scrape, "distillscan_account_risk_score",                                            \
    "Highest alert score of the K riskiest accounts with an active alert (the only per-account metric).",          \
    "account")                                                                                                     \
  X(newest_event_time, gauge, "distillscan_newest_event_timestamp_seconds",                                        \
    "Event time (log timestamp) of the newest event processed, Unix seconds.")                                     \
  X(event_lag, gauge_scrape, "distillscan_event_lag_seconds",                                                      \
    "Wall clock minus the newest event time processed (grows when input stalls or the scanner falls behind).")    \
  /* pipeline */                                                                                                   \
  X(batches, counter, "distillscan_batches_total", "Chunks (batches of lines) processed.")                         \
  X(batch_latency, histogram, "distillscan_batch_latency_seconds",                                                 \
    "Time from reading a chunk to writing its alerts (parse, match, detect, queueing).")                           \
  X(ring_in_flight, gauge, "distillscan_pipeline_slots_in_flight",                                                 \
    "Chunks read but not yet collected (ring occupancy; at capacity the reader waits).")                           \
  X(ring_slots, gauge, "distillscan_pipeline_slots", "Capacity of the pipeline ring, in chunks.")                  \
  /* alert delivery */                                                                                             \
  X(delivery_sent, counter_scrape, "distillscan_alert_deliveries_total",                                           \
    "Alert notifications the receiver accepted, per sink (re-sends included).", "sink", "target")                  \
  X(delivery_failed, counter_scrape, "distillscan_alert_delivery_failures_total",                                  \
    "Failed delivery requests, per sink (retried with backoff unless rejected).", "sink", "target")                \
  X(delivery_rejected, counter_scrape, "distillscan_alert_delivery_rejected_total",                                \
    "Alert notifications the receiver refused (HTTP 4xx, not retried), per sink.", "sink", "target")               \
  X(delivery_dropped, counter_scrape, "distillscan_alert_delivery_dropped_total",                                  \
    "Alerts dropped because the delivery queue was full, per sink.", "sink", "target")                             \
  X(delivery_queued, gauge_scrape, "distillscan_alert_delivery_queued",                                            \
    "Alert notifications waiting for delivery, per sink.", "sink", "target")                                       \
  X(delivery_request_seconds, histogram_scrape, "distillscan_alert_delivery_request_seconds",                    \
    "Duration of alert delivery HTTP requests (accepted or failed), per sink.", "sink", "target")                 \
  X(delivery_last_success, gauge_scrape, "distillscan_alert_delivery_last_success_timestamp_seconds",              \
    "Wall time of the last accepted delivery request, per sink (0 = never).", "sink", "target")                    \
  /* process */                                                                                                    \
  X(start_time, gauge, "distillscan_start_time_seconds", "Start time of the process, Unix seconds.")               \
  X(build_info, gauge, "distillscan_build_info", "Always 1; the version as a label.", "version")
// clang-format on
