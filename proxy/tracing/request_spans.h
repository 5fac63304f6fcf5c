// The spans of one sampled request: the server span (the whole exchange) and one client span
// per upstream try, each try's span id being the parent the upstream sees in its traceparent.
// Owned by the Exchange; inert (one bool test per call) when the request is not sampled or no
// exporter is configured. A span is encoded into the worker's SpanBatch (WorkerContext) the
// moment it ends; the worker hands the batch to the SpanExporter once it holds 128 spans, and at
// its 100 ms sweep whatever it holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "filters/base/trace_context.h"
#include "proxy/tracing/span_record.h"

namespace sluice::proxy::tracing {

// What the exchange knows about the request when it ends: the server span's attributes and
// status (views, valid for the call to finish), how many upstream tries it made, and when it
// ended. Ids, kind, times, resend count and error are finish()'s.
struct ServerSpanFacts {
  SpanRecord span;
  int tries = 0;
  std::chrono::steady_clock::time_point end;
};

class RequestSpans {
 public:
  // Starts recording when `trace` is sampled and `batch` is non-null (an exporter is on).
  // `wall_start` and `start` are the request's start on the two clocks: every span time is
  // given on the steady clock, as the exchange and its tries already read it (no clock is read
  // for a span), and placed on the wall clock from this pair.
  void begin(const base::TraceContext& trace, SpanBatch* batch,
             std::chrono::system_clock::time_point wall_start,
             std::chrono::steady_clock::time_point start);
  bool active() const { return batch_ != nullptr; }

  // A try begins towards `target` (`host:port` as configured). `upstream` must outlive the try
  // (the exchange's config); method and target are copied. A try still open ends first, as a
  // failed one that sluice retried.
  void beginTry(const base::TraceContext& trace, std::string_view method, std::string_view upstream,
                std::string_view target, std::chrono::steady_clock::time_point at);
  // The open try ended at `at` with a response `status` (0 with `error_type` when it failed).
  void endTry(int status, std::string_view error_type, std::chrono::steady_clock::time_point at);
  // The exchange ended: the open try (if any) and the server span are recorded.
  void finish(const base::TraceContext& trace, const ServerSpanFacts& facts);

 private:
  uint64_t unixNs(std::chrono::steady_clock::time_point t) const;

  SpanBatch* batch_ = nullptr;
  uint64_t wall_start_ns_ = 0;
  std::chrono::steady_clock::time_point start_;
  int tries_ = 0;
  // The open try's span; only a sampled request's exchange ever constructs one.
  std::optional<SpanRecord> try_;
  std::string try_method_, try_target_;  // what try_'s method, target and host view
};

}  // namespace sluice::proxy::tracing
