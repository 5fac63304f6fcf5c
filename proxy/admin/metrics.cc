#include "proxy/admin/metrics.h"

#include "filters/auth_decisions.h"
#include "filters/password_verifier.h"
#include "proxy/http2/http2_flood_guard.h"

namespace sluice::proxy {

Metrics::Metrics()
    : build_info(registry.gauge("sluice_build_info",
                                "Always 1; the version label says which sluice is running.",
                                {"version"})),
      config_reloads_total(registry.counter(
          "sluice_config_reloads_total", "Configuration loads attempted, by result.", {"result"})),
      config_last_reload_success_timestamp_seconds(
          registry.gauge("sluice_config_last_reload_success_timestamp_seconds",
                         "Unix time of the last successful configuration load.")),
      downstream_connections_active(registry.gauge("sluice_downstream_connections_active",
                                                   "Client connections open now, by listener.",
                                                   {"listener"})),
      downstream_connections_total(registry.counter("sluice_downstream_connections_total",
                                                    "Client connections accepted, by listener.",
                                                    {"listener"})),
      downstream_connections_evicted_total(registry.counter(
          "sluice_downstream_connections_evicted_total",
          "Idle or silent client connections closed to make room at limits.max_connections.",
          {"listener"})),
      requests_total(registry.counter("sluice_requests_total",
                                      "Requests answered, by route, method and status code.",
                                      {"route", "method", "code"})),
      request_duration_seconds(registry.histogram(
          "sluice_request_duration_seconds",
          "Time from the request head to the last response byte, by route.", {"route"})),
      upstream_requests_total(registry.counter("sluice_upstream_requests_total",
                                               "Requests sent upstream, by target and status code.",
                                               {"upstream", "target", "code"})),
      upstream_request_duration_seconds(registry.histogram(
          "sluice_upstream_request_duration_seconds",
          "Time from sending upstream to the last response byte, by upstream.", {"upstream"})),
      upstream_connect_failures_total(registry.counter(
          "sluice_upstream_connect_failures_total",
          "Connections to an upstream target that failed.", {"upstream", "target"})),
      upstream_retries_total(registry.counter("sluice_upstream_retries_total",
                                              "Requests retried on another attempt, by upstream.",
                                              {"upstream"})),
      upstream_target_healthy(registry.gauge("sluice_upstream_target_healthy",
                                             "1 if the target passes health checks, else 0.",
                                             {"upstream", "target"})),
      upstream_circuit_state(registry.gauge("sluice_upstream_circuit_state",
                                            "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
                                            {"upstream", "target"})),
      upstream_requests_active(registry.gauge("sluice_upstream_requests_active",
                                              "Requests in flight to a target now.",
                                              {"upstream", "target"})),
      ratelimit_decisions_total(registry.counter("sluice_ratelimit_decisions_total",
                                                 "Rate-limit decisions, by route, policy, result.",
                                                 {"route", "policy", "result"})),
      ratelimit_keys(registry.gauge("sluice_ratelimit_keys",
                                    "Rate-limit keys tracked now, by route and policy.",
                                    {"route", "policy"})),
      ratelimit_store_errors_total(registry.counter(
          "sluice_ratelimit_store_errors_total",
          "Rate-limit decisions the Redis store could not make, by reason.", {"reason"})),
      cache_requests_total(registry.counter("sluice_cache_requests_total",
                                            "Cache lookups, by route and result.",
                                            {"route", "result"})),
      auth_decisions_total(filters::authDecisionsFamily(registry)),
      cache_bytes(registry.gauge("sluice_cache_bytes", "Bytes held in the response cache.")),
      tls_handshakes_total(registry.counter("sluice_tls_handshakes_total",
                                            "Completed downstream TLS handshakes.",
                                            {"listener", "version"})),
      tls_handshake_failures_total(registry.counter("sluice_tls_handshake_failures_total",
                                                    "Failed downstream TLS handshakes.",
                                                    {"listener", "reason"})),
      tls_resumptions_total(registry.counter("sluice_tls_resumptions_total",
                                             "Downstream TLS handshakes that resumed a session.",
                                             {"listener"})),
      http2_protocol_errors_total(registry.counter(
          "sluice_http2_protocol_errors_total",
          "HTTP/2 client connections or streams ended for abuse or protocol errors.", {"reason"})),
      http2_connections_active(
          registry.gauge("sluice_http2_connections_active", "Client HTTP/2 connections open now.")),
      http2_connections_total(
          registry.counter("sluice_http2_connections_total", "Client HTTP/2 connections opened.")),
      http2_streams_active(
          registry.gauge("sluice_http2_streams_active", "Client HTTP/2 request streams open now.")),
      http2_streams_total(
          registry.counter("sluice_http2_streams_total", "Client HTTP/2 request streams opened.")),
      http2{&http2_connections_active.with({}), &http2_connections_total.with({}),
            &http2_streams_active.with({}), &http2_streams_total.with({})},
      mirror_requests_total(registry.counter(
          "sluice_mirror_requests_total",
          "Copies of requests sent to a route's mirror upstream, by route and result.",
          {"route", "result"})),
      mirror_dropped_total(registry.counter(
          "sluice_mirror_dropped_total",
          "Requests selected for mirroring whose copy was not sent, by route and reason.",
          {"route", "reason"})) {
  for (int i = 0; i < kHttp2AbuseCount; ++i) {  // every reason has a 0 sample from the start
    http2_protocol_errors_total.with({http2AbuseName(static_cast<Http2Abuse>(i))});
  }
  build_info.with({SLUICE_VERSION}).set(1);
  // Both results exist from the start, so a failure rate can be computed before any failure.
  config_reloads_total.with({"success"});
  config_reloads_total.with({"failure"});
  filters::PasswordVerifier::countChecksIn(filters::passwordChecksFamily(registry));
}

void Metrics::declareUpstreams(const config::Config& config) {
  for (const config::Upstream& u : config.upstreams) upstream_retries_total.with({u.name});
}

void Metrics::recordReload(bool success, double unix_seconds) {
  config_reloads_total.with({success ? "success" : "failure"}).inc();
  if (success) config_last_reload_success_timestamp_seconds.with({}).set(unix_seconds);
}

}  // namespace sluice::proxy
