#include "metrics/observability.hpp"

namespace ds {

Result<Observability> make_observability(const ObservabilityOptions& opt, std::unique_ptr<AlertSink> primary) {
  Observability o;
  o.sinks = std::make_unique<FanoutAlertSink>();
  if (primary) o.sinks->add(std::move(primary));

  MetricsOptions mo;
  mo.listen = opt.metrics_listen;
  mo.top_k = opt.top_k;
  mo.rule_ids = opt.rule_ids;
  mo.detectors = opt.detectors;
  mo.flagged_for = opt.resolve_after;
  auto m = Metrics::create(std::move(mo));
  if (!m) return m.error();
  o.metrics = std::move(*m);

  DeliveryOptions d;
  d.flush_timeout = opt.delivery_timeout;
  d.max_queue = opt.delivery_queue;
  AlertmanagerOptions am;
  am.resend_interval = opt.resend_interval;
  am.resolve_after = opt.resolve_after;
  am.runbook_url = opt.runbook_url;
  am.generator_url = o.metrics->endpoint_url();
  std::vector<HttpDeliverySink*> delivery;
  for (const auto& url : opt.alertmanagers) {
    auto s = AlertmanagerSink::create(url, d, am);
    if (!s) return s.error();
    delivery.push_back(s->get());
    o.sinks->add(std::move(*s));
  }
  for (const auto& url : opt.webhooks) {
    auto s = WebhookAlertSink::create(url, d);
    if (!s) return s.error();
    delivery.push_back(s->get());
    o.sinks->add(std::move(*s));
  }
  for (HttpDeliverySink* s : delivery)
    o.metrics->add_delivery_probe(s->kind(), s->url(), [s] { return s->stats(); });
  return o;
}

}  // namespace ds
