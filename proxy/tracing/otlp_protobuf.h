// OTLP/HTTP protobuf encoding of spans: the binary ExportTraceServiceRequest of
// opentelemetry/proto/collector/trace/v1 (the OTLP/HTTP default encoding), written by hand
// (no libprotobuf and no generated code: the message is fixed and small). Workers append each
// finished span to their batch (appendOtlpSpan); the exporter thread wraps the batches in one
// request (encodeOtlpProtobuf), or reads them back for the JSON encoding (decodeOtlpSpans).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/tracing/span_record.h"

namespace sluice::proxy::tracing {

// Appends `s` as one ScopeSpans.spans field (sized exactly, written once).
void appendOtlpSpan(const SpanRecord& s, SpanBatch& batch);

// The bytes of one request that come before its spans: a single resource (service.name) and
// scope ("sluice") whose spans are `spans_bytes` long. The request is this envelope followed by
// the batches' bytes as they are (the exporter sends them with one sendmsg, never copying them
// together); it replaces what `out` held.
void encodeOtlpEnvelope(std::string_view service_name, size_t spans_bytes, std::string& out);

// The whole request: the envelope and the batches' spans in order, in `out`.
void encodeOtlpProtobuf(std::string_view service_name, const std::vector<SpanBatch>& batches,
                        std::string& out);
// The same from records (tests, and anything that has records rather than a batch).
void encodeOtlpProtobuf(std::string_view service_name,
                        const std::vector<std::vector<SpanRecord>>& batches, std::string& out);

// Reads the spans of `bytes` (what appendOtlpSpan wrote) into `out`; their text fields are
// views into `bytes`. False (with what was read so far) on bytes it did not write.
bool decodeOtlpSpans(std::string_view bytes, std::vector<SpanRecord>& out);

// Byte length of the first `n` spans of `bytes` (all of it when it holds fewer).
size_t otlpSpansPrefix(std::string_view bytes, size_t n);

}  // namespace sluice::proxy::tracing
