// sluice's metric families, exactly as listed in spec/operations.md (names, types, labels).
// One Metrics is constructed by main() per process and outlives every worker; its registry is
// rendered by the admin listener for GET /metrics.
#pragma once

#include "config/config.h"
#include "filters/metrics_registry.h"

namespace sluice::proxy {

// Label values must be bounded (route, upstream, target, listener, policy names; methods and
// status codes): never a client address, a path or a header value.
//
// Workers resolve the series they use once (per connection, per route or per config version)
// and keep the references: `Counter& c = metrics.requests_total.with({route, method, code});`
// then `c.inc()` is one relaxed atomic add. with() itself takes the family mutex.
struct Metrics {
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Called by whoever applies a config (startup counts as a reload). `unix_seconds` is the
  // wall-clock time the new config took effect.
  void recordReload(bool success, double unix_seconds);

  // Gives every upstream of `config` its per-upstream counters at 0 (a series that appears only
  // at its first event breaks rate() and "is it 0?" alerts). Called on the main thread with each
  // config that takes effect; series of removed upstreams stay, as counters do.
  void declareUpstreams(const config::Config& config);

  filters::Registry registry;  // declared first: the references below point into it

  filters::GaugeFamily& build_info;              // {version} = 1
  filters::CounterFamily& config_reloads_total;  // {result=success|failure}
  filters::GaugeFamily& config_last_reload_success_timestamp_seconds;
  filters::GaugeFamily& downstream_connections_active;          // {listener}
  filters::CounterFamily& downstream_connections_total;         // {listener}
  filters::CounterFamily& downstream_connections_evicted_total;  // {listener}
  filters::CounterFamily& requests_total;                       // {route, method, code}
  filters::HistogramFamily& request_duration_seconds;           // {route}
  filters::CounterFamily& upstream_requests_total;              // {upstream, target, code}
  filters::HistogramFamily& upstream_request_duration_seconds;  // {upstream}
  filters::CounterFamily& upstream_connect_failures_total;      // {upstream, target}
  filters::CounterFamily& upstream_retries_total;               // {upstream}
  filters::GaugeFamily& upstream_target_healthy;                // {upstream, target} 1/0
  filters::GaugeFamily& upstream_circuit_state;       // {upstream, target} 0 closed 1 open 2 half
  filters::GaugeFamily& upstream_requests_active;     // {upstream, target} in flight now
  filters::CounterFamily& ratelimit_decisions_total;  // {route, policy, result=allowed|limited}
  filters::GaugeFamily& ratelimit_keys;               // {route, policy}
  // {reason=timeout|unavailable|error}: cluster decisions Redis could not make (on_error applied)
  filters::CounterFamily& ratelimit_store_errors_total;
  filters::CounterFamily& cache_requests_total;       // {route, result=hit|miss|stale|bypass}
  filters::GaugeFamily& cache_bytes;
  filters::CounterFamily& tls_handshakes_total;          // {listener, version}
  filters::CounterFamily& tls_handshake_failures_total;  // {listener, reason}
  filters::CounterFamily& tls_resumptions_total;         // {listener}: abbreviated handshakes
};

}  // namespace sluice::proxy
