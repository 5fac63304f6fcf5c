// The status page's sections for what is not a route or a target: the response cache (hit
// ratio, bytes, entries, evictions), compression (bytes in, out and saved), client HTTP/2
// (connections and streams) and TLS (handshakes, resumptions, failures). Read from the metrics
// registry's samples at render time, as the rest of the page is; main thread.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "filters/base/metrics_registry.h"
#include "proxy/admin/status_events.h"
#include "proxy/admin/status_model.h"

namespace sluice::proxy {

// Sums of the sluice_cache_*, sluice_compression_*, sluice_http2_* and sluice_tls_* series.
struct SubsystemTotals {
  struct Cache {
    double hits = 0, misses = 0, stale = 0, bypass = 0;
    double bytes = 0, entries = 0, evictions = 0;
    // Served from the cache (fresh or stale) among lookups that could be (bypass excluded);
    // negative when there was no such lookup.
    double hitRatio() const;
  } cache;
  struct Compression {
    double in = 0, out = 0;
  };
  std::vector<std::pair<std::string, Compression>> compression;  // by encoding, sorted
  struct Http2 {
    double connections_open = 0, connections_total = 0, streams_open = 0, streams_total = 0;
    double protocol_errors = 0;
  } http2;
  struct Tls {
    double handshakes = 0, resumptions = 0, failures = 0;
  };
  std::vector<std::pair<std::string, Tls>> tls;  // by listener, sorted
};

SubsystemTotals subsystemTotals(const std::vector<ExpositionSample>& samples);

// Four sections (h2 + table, ids "cache", "compression", "http2", "tls").
std::string renderSubsystemsHtml(const SubsystemTotals& t);
// The `cache`, `compression`, `http2` and `tls` keys of /status.json.
void appendSubsystemsJson(nlohmann::json& out, const SubsystemTotals& t);

// What GET /status adds after its own sections (the event list, then the four above), and the
// keys /status.json adds (`events`, `events_dropped`, `cache`, `compression`, `http2`, `tls`).
// `unix_now`: the wall clock. Main thread.
std::string statusExtraSectionsHtml(StatusEvents& events, const base::MetricsRegistry& registry,
                                    double unix_now);
void appendStatusExtrasJson(nlohmann::json& out, StatusEvents& events,
                            const base::MetricsRegistry& registry, double unix_now);

}  // namespace sluice::proxy
