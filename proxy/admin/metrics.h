// sluice's metric families, exactly as listed in spec/operations.md (names, types, labels).
// One Metrics is constructed by main() per process and outlives every worker; its registry is
// rendered by the admin listener for GET /metrics.
#pragma once

#include "config/config.h"
#include "filters/base/metrics_registry.h"

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

  base::MetricsRegistry registry;  // declared first: the references below point into it

  base::GaugeFamily& build_info;              // {version} = 1
  base::CounterFamily& config_reloads_total;  // {result=success|failure}
  base::GaugeFamily& config_last_reload_success_timestamp_seconds;
  base::GaugeFamily& downstream_connections_active;           // {listener}
  base::CounterFamily& downstream_connections_total;          // {listener}
  base::CounterFamily& downstream_connections_evicted_total;  // {listener}
  base::CounterFamily& requests_total;                        // {route, method, code}
  base::HistogramFamily& request_duration_seconds;            // {route}
  base::CounterFamily& upstream_requests_total;               // {upstream, target, code}
  base::HistogramFamily& upstream_request_duration_seconds;   // {upstream}
  base::CounterFamily& upstream_connect_failures_total;       // {upstream, target}
  base::CounterFamily& upstream_retries_total;                // {upstream}
  base::GaugeFamily& upstream_target_healthy;                 // {upstream, target} 1/0
  base::GaugeFamily& upstream_circuit_state;       // {upstream, target} 0 closed 1 open 2 half
  base::GaugeFamily& upstream_requests_active;     // {upstream, target} in flight now
  base::CounterFamily& ratelimit_decisions_total;  // {route, policy, result=allowed|limited}
  base::GaugeFamily& ratelimit_keys;               // {route, policy}
  // {reason=timeout|unavailable|error}: cluster decisions Redis could not make (on_error applied)
  base::CounterFamily& ratelimit_store_errors_total;
  base::CounterFamily& cache_requests_total;  // {route, result=hit|miss|stale|bypass}
  // {route, filter=ip_filter|basic_auth|api_key, result=allowed|denied|error}
  base::CounterFamily& auth_decisions_total;
  base::GaugeFamily& cache_bytes;
  base::CounterFamily& tls_handshakes_total;          // {listener, version}
  base::CounterFamily& tls_handshake_failures_total;  // {listener, reason}
  base::CounterFamily& tls_resumptions_total;         // {listener}: abbreviated handshakes
  // {reason}: hostile or broken HTTP/2 clients bounded (http2_flood_guard.h names the reasons)
  base::CounterFamily& http2_protocol_errors_total;
  // Client HTTP/2 connections and request streams: open now, and opened since start. One series
  // each, resolved here, so a session counts a stream without a lookup.
  base::GaugeFamily& http2_connections_active;
  base::CounterFamily& http2_connections_total;
  base::GaugeFamily& http2_streams_active;
  base::CounterFamily& http2_streams_total;
  struct Http2Series {
    base::Gauge* connections_active;
    base::Counter* connections_total;
    base::Gauge* streams_active;
    base::Counter* streams_total;
  } http2;
  // {route, result=match|status_mismatch|body_mismatch|error|primary_incomplete|sent}: copies
  // of requests sent to a route's mirror upstream (proxy/stream/mirror.h)
  base::CounterFamily& mirror_requests_total;
  // {route, reason=max_in_flight|body_too_large}: selected requests whose copy was not sent
  base::CounterFamily& mirror_dropped_total;
};

}  // namespace sluice::proxy
