// One finished span (OTLP "Span"): a server span per request and a client span per upstream
// try, with the attributes of the OpenTelemetry HTTP semantic conventions sluice knows.
// A worker fills one when the span ends and encodes it at once into its SpanBatch, so the
// text fields are views: into the exchange (method, path), the config (route, upstream names)
// or the RequestSpans (a try's target), valid only until that encoding. The exporter decodes
// records back from a batch (views into its bytes) for the JSON encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::proxy::tracing {

enum class SpanKind : uint8_t { Server = 2, Client = 3 };  // OTLP's SpanKind numbers

struct SpanRecord {
  char trace_id[32];
  char span_id[16];
  char parent_id[16];
  bool has_parent = false;
  SpanKind kind = SpanKind::Server;
  uint64_t start_unix_ns = 0;
  uint64_t end_unix_ns = 0;
  bool error = false;  // OTLP status ERROR (a 5xx on the server span, a failed try)

  // Attributes; empty strings and negative numbers are left out.
  std::string_view method;      // http.request.method
  std::string_view route;       // http.route (sluice's route name)
  std::string_view path;        // url.path (server span)
  std::string_view scheme;      // url.scheme (server span)
  std::string_view host;        // server.address: the request's Host, or the upstream target's
  int port = -1;                // server.port (client span)
  std::string_view client_ip;   // client.address (server span)
  std::string_view protocol;    // network.protocol.version: "1.1", "2"
  int status = -1;              // http.response.status_code
  int resend_count = -1;        // http.request.resend_count (client span of a retry)
  std::string_view upstream;    // sluice.upstream
  std::string_view target;      // sluice.target (address as configured)
  std::string_view ratelimit;   // sluice.ratelimit: allowed | limited
  std::string_view cache;       // sluice.cache: hit | miss | stale | bypass
  std::string_view error_type;  // error.type (a failed try: connect_failure, timeout, reset)
};

// A worker's finished spans since its last hand-over: each one already the OTLP protobuf
// `ScopeSpans.spans` field (tag, length, Span message), back to back, so the exporter only
// wraps them in the request's envelope and no span is ever held as separate strings.
struct SpanBatch {
  std::string bytes;
  size_t spans = 0;
};

}  // namespace sluice::proxy::tracing
