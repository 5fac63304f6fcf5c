#include "proxy/tracing/request_spans.h"

#include <cstring>

#include "proxy/tracing/otlp_protobuf.h"

namespace sluice::proxy::tracing {
namespace {

// `host:port` or `[v6]:port` into server.address and server.port.
void splitTarget(std::string_view target, SpanRecord& s) {
  size_t colon = target.rfind(':');
  if (colon == std::string_view::npos || target.find(']', colon) != std::string_view::npos) {
    s.host = target;
    return;
  }
  std::string_view host = target.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  s.host = host;
  int port = 0;
  for (char c : target.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return;
    port = port * 10 + (c - '0');
  }
  s.port = port;
}

}  // namespace

uint64_t RequestSpans::unixNs(std::chrono::steady_clock::time_point t) const {
  auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(t - start_).count();
  return wall_start_ns_ + static_cast<uint64_t>(since > 0 ? since : 0);
}

void RequestSpans::begin(const base::TraceContext& trace, SpanBatch* batch,
                         std::chrono::system_clock::time_point wall_start,
                         std::chrono::steady_clock::time_point start) {
  batch_ = trace.sampled() ? batch : nullptr;
  wall_start_ns_ = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(wall_start.time_since_epoch()).count());
  start_ = start;
}

void RequestSpans::beginTry(const base::TraceContext& trace, std::string_view method,
                            std::string_view upstream, std::string_view target,
                            std::chrono::steady_clock::time_point at) {
  if (batch_ == nullptr) return;
  if (try_) endTry(0, "retried", at);
  SpanRecord& t = try_.emplace();
  std::memcpy(t.trace_id, trace.traceId().data(), 32);
  std::memcpy(t.span_id, trace.clientSpanId().data(), 16);
  std::memcpy(t.parent_id, trace.spanId().data(), 16);
  t.has_parent = true;
  t.kind = SpanKind::Client;
  t.start_unix_ns = unixNs(at);
  try_method_.assign(method);
  t.method = try_method_;
  t.upstream = upstream;
  try_target_.assign(target);
  t.target = try_target_;
  splitTarget(try_target_, t);
  if (tries_ > 0) t.resend_count = tries_;
  ++tries_;
}

void RequestSpans::endTry(int status, std::string_view error_type,
                          std::chrono::steady_clock::time_point at) {
  if (batch_ == nullptr || !try_) return;
  SpanRecord& t = *try_;
  t.end_unix_ns = unixNs(at);
  if (status > 0) t.status = status;
  t.error_type = error_type;
  t.error = status == 0 || status >= 500;
  appendOtlpSpan(t, *batch_);
  try_.reset();
}

void RequestSpans::finish(const base::TraceContext& trace, const ServerSpanFacts& f) {
  if (batch_ == nullptr) return;
  if (try_) endTry(0, f.span.status == 499 ? "client_closed" : "abandoned", f.end);
  SpanRecord s = f.span;
  std::memcpy(s.trace_id, trace.traceId().data(), 32);
  std::memcpy(s.span_id, trace.spanId().data(), 16);
  if (trace.continued()) {
    std::memcpy(s.parent_id, trace.parentSpanId().data(), 16);
    s.has_parent = true;
  }
  s.kind = SpanKind::Server;
  s.start_unix_ns = wall_start_ns_;
  s.end_unix_ns = unixNs(f.end);
  if (f.tries > 1) s.resend_count = f.tries - 1;
  s.error = s.status >= 500;
  appendOtlpSpan(s, *batch_);
  batch_ = nullptr;
}

}  // namespace sluice::proxy::tracing
