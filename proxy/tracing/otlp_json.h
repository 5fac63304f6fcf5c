// OTLP/HTTP JSON encoding of spans (the protobuf JSON mapping of ExportTraceServiceRequest:
// ids as lower-case hex, 64-bit numbers as strings, enums as numbers), written directly into a
// string: the exporter thread does this for every batch, so it must be cheap.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/tracing/span_record.h"

namespace sluice::proxy::tracing {

// One ExportTraceServiceRequest with a single resource (service.name) and scope ("sluice").
void encodeOtlpJson(std::string_view service_name, const std::vector<SpanRecord>& spans,
                    std::string& out);

}  // namespace sluice::proxy::tracing
