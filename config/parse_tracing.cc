// Parser for `tracing:` (W3C trace context sampling, OTLP/HTTP export; gateway.md, "Tracing and
// logs"). The access-log line template it may name is checked in config/log_template.cc.
#include <string_view>

#include "config/sections.h"
#include "config/units.h"

namespace sluice::config {

namespace {

// `http://host:port/path`: the receiver is on a plain HTTP/1.1 listener (a local collector or
// agent, as nginx's otel module expects too).
bool validOtlpEndpoint(std::string_view url) {
  if (url.substr(0, 7) != "http://") return false;
  std::string_view rest = url.substr(7);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  return !authority.empty() && slash != std::string_view::npos &&
         authority.find_first_of(" @") == std::string_view::npos;
}

}  // namespace

Tracing parseTracing(Reader& r, const YAML::Node& node) {
  Tracing t;
  MapReader m(r, node, "tracing", {"service_name", "sample", "otlp"});
  if (!m.ok()) return t;
  if (m.readString("service_name", &t.service_name) && t.service_name.empty()) {
    r.error(m.get("service_name"), "service_name: empty; write e.g. sluice");
  }
  m.readPercent("sample", &t.sample);
  if (m.has("otlp")) {
    OtlpExport o;
    MapReader om(r, m.get("otlp"), "otlp", {"endpoint", "encoding", "timeout", "max_queue"});
    if (om.require("endpoint", "http://127.0.0.1:4318/v1/traces") &&
        om.readString("endpoint", &o.endpoint) && !validOtlpEndpoint(o.endpoint)) {
      r.error(om.get("endpoint"), "endpoint: \"" + o.endpoint +
                                      "\" is not an OTLP/HTTP URL; write e.g. "
                                      "http://127.0.0.1:4318/v1/traces");
    }
    std::string encoding = "protobuf";
    if (om.readString("encoding", &encoding) && encoding != "protobuf" && encoding != "json") {
      r.error(om.get("encoding"),
              "encoding: \"" + encoding + "\" is not an OTLP encoding; write protobuf or json");
    }
    o.json = encoding == "json";
    om.readDuration("timeout", &o.timeout);
    om.readInt("max_queue", &o.max_queue, 1, 10'000'000);
    t.otlp = std::move(o);
  }
  return t;
}

}  // namespace sluice::config
