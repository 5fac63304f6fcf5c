// OTLP/HTTP protobuf encoding of spans: the binary ExportTraceServiceRequest of
// opentelemetry/proto/collector/trace/v1 (the OTLP/HTTP default encoding), written by hand
// into one buffer sized exactly in advance (no libprotobuf and no generated code: the message
// is fixed and small, and the exporter thread encodes every span sluice samples).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/tracing/span_record.h"

namespace sluice::proxy::tracing {

// One request with a single resource (service.name) and scope ("sluice"), spans in order; it
// replaces what `out` held.
void encodeOtlpProtobuf(std::string_view service_name,
                        const std::vector<std::vector<SpanRecord>>& batches, std::string& out);

}  // namespace sluice::proxy::tracing
