// Internal to the OTLP protobuf encoder and reader (otlp_protobuf*.cc): the field numbers of
// opentelemetry/proto that sluice writes and the wire types.
#pragma once

#include <cstdint>

namespace sluice::proxy::tracing::otlp_wire {

// Field numbers of opentelemetry/proto (trace/v1/trace.proto, common/v1/common.proto,
// resource/v1/resource.proto, collector/trace/v1/trace_service.proto).
enum : uint32_t {
  kRequestResourceSpans = 1,  // ExportTraceServiceRequest
  kResourceSpansResource = 1,
  kResourceSpansScope = 2,  // ResourceSpans
  kResourceAttributes = 1,  // Resource
  kScopeSpansScope = 1,
  kScopeSpansSpans = 2,  // ScopeSpans
  kScopeName = 1,
  kScopeVersion = 2,  // InstrumentationScope
  kKeyValueKey = 1,
  kKeyValueValue = 2,  // KeyValue
  kAnyString = 1,
  kAnyInt = 3,  // AnyValue
  kSpanTraceId = 1,
  kSpanSpanId = 2,
  kSpanParentSpanId = 4,
  kSpanName = 5,
  kSpanKind = 6,
  kSpanStart = 7,
  kSpanEnd = 8,
  kSpanAttributes = 9,
  kSpanStatus = 15,  // Span
  kStatusCode = 3,   // Status
};
enum : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

}  // namespace sluice::proxy::tracing::otlp_wire
