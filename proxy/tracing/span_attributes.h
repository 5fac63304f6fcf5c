// The attributes a span carries, in one list both OTLP encodings walk (JSON and protobuf), so
// they cannot disagree on names or on what is left out. Names follow the OpenTelemetry HTTP
// semantic conventions, `sluice.*` for what only sluice knows.
#pragma once

#include "proxy/tracing/span_record.h"

namespace sluice::proxy::tracing {

// Calls `v.text(key, value)` for each string attribute that is set (non-empty) and
// `v.integer(key, value)` for each number that is (non-negative). Keys are string literals.
template <typename Visitor>
void visitAttributes(const SpanRecord& s, Visitor& v) {
  auto text = [&v](std::string_view key, std::string_view value) {
    if (!value.empty()) v.text(key, value);
  };
  auto integer = [&v](std::string_view key, int value) {
    if (value >= 0) v.integer(key, value);
  };
  text("http.request.method", s.method);
  text("http.route", s.route);
  text("url.path", s.path);
  text("url.scheme", s.scheme);
  text("server.address", s.host);
  integer("server.port", s.port);
  text("client.address", s.client_ip);
  text("network.protocol.version", s.protocol);
  integer("http.response.status_code", s.status);
  integer("http.request.resend_count", s.resend_count);
  text("error.type", s.error_type);
  text("sluice.upstream", s.upstream);
  if (s.kind == SpanKind::Server) text("sluice.target", s.target);  // a try has server.*
  text("sluice.ratelimit", s.ratelimit);
  text("sluice.cache", s.cache);
}

}  // namespace sluice::proxy::tracing
