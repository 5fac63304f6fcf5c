// One finished span as the exporter sends it (OTLP "Span"): a server span per request and a
// client span per upstream try, with the attributes of the OpenTelemetry HTTP semantic
// conventions sluice knows. Filled on a worker when the span ends, then moved to the exporter.
#pragma once

#include <cstdint>
#include <string>

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
  std::string method;      // http.request.method
  std::string route;       // http.route (sluice's route name)
  std::string path;        // url.path (server span)
  std::string scheme;      // url.scheme (server span)
  std::string host;        // server.address: the request's Host, or the upstream target's
  int port = -1;           // server.port (client span)
  std::string client_ip;   // client.address (server span)
  std::string protocol;    // network.protocol.version: "1.1", "2"
  int status = -1;         // http.response.status_code
  int resend_count = -1;   // http.request.resend_count (client span of a retry)
  std::string upstream;    // sluice.upstream
  std::string target;      // sluice.target (address as configured)
  std::string ratelimit;   // sluice.ratelimit: allowed | limited
  std::string cache;       // sluice.cache: hit | miss | stale | bypass
  std::string error_type;  // error.type (a failed try: connect_failure, timeout, reset)
};

}  // namespace sluice::proxy::tracing
