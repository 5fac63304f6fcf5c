#include "proxy/tracing/otlp_json.h"

#include <charconv>

#include "proxy/tracing/span_attributes.h"

namespace sluice::proxy::tracing {
namespace {

using namespace std::string_view_literals;

constexpr char kHex[] = "0123456789abcdef";

bool needsEscape(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c == '"' || c == '\\' || c < 0x20 || c >= 0x7f;
}

void appendString(std::string_view s, std::string& out) {
  out.push_back('"');
  // Most values need no escaping: they go in one append, up to the first byte that does.
  size_t plain = 0;
  while (plain < s.size() && !needsEscape(s[plain])) ++plain;
  out.append(s.data(), plain);
  for (char ch : s.substr(plain)) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20 || c >= 0x7f) {
      // Request data may be any bytes: each one outside printable ASCII becomes \u00XX, so
      // the document is valid JSON whatever arrived (the receiver sees the byte's value).
      out.append("\\u00"sv);
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

void appendNumber(uint64_t v, std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Writes the attributes visitAttributes gives as a JSON array of KeyValue.
class Attributes {
 public:
  explicit Attributes(std::string& out) : out_(out) { out_.append(",\"attributes\":["sv); }
  ~Attributes() { out_.push_back(']'); }
  void text(std::string_view key, std::string_view v) {
    open(key);
    out_.append("{\"stringValue\":"sv);
    appendString(v, out_);
    out_.append("}}"sv);
  }
  void integer(std::string_view key, int v) {
    open(key);
    out_.append("{\"intValue\":\""sv);
    appendNumber(static_cast<uint64_t>(v), out_);
    out_.append("\"}}"sv);
  }

 private:
  void open(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    out_.append("{\"key\":\""sv);
    out_.append(key);  // a literal attribute name: no escaping
    out_.append("\",\"value\":"sv);
  }
  std::string& out_;
  bool first_ = true;
};

void appendSpan(const SpanRecord& s, std::string& out) {
  out.append("{\"traceId\":\""sv);
  out.append(s.trace_id, 32);
  out.append("\",\"spanId\":\""sv);
  out.append(s.span_id, 16);
  out.append("\""sv);
  if (s.has_parent) {
    out.append(",\"parentSpanId\":\""sv);
    out.append(s.parent_id, 16);
    out.append("\""sv);
  }
  // Span names follow the HTTP conventions: "{method} {route}" for a server span, "{method}"
  // for a client one.
  out.append(",\"name\":\""sv);
  if (s.method.empty()) {
    out.append("HTTP"sv);
  } else {
    out.append(s.method);  // a token (the parser checked it): no escaping
  }
  if (s.kind == SpanKind::Server && !s.route.empty()) {
    out.push_back(' ');
    out.append(s.route);  // a route name: [A-Za-z0-9_.-]
  }
  out.push_back('"');
  out.append(",\"kind\":"sv);
  appendNumber(static_cast<uint64_t>(s.kind), out);
  out.append(",\"startTimeUnixNano\":\""sv);
  appendNumber(s.start_unix_ns, out);
  out.append("\",\"endTimeUnixNano\":\""sv);
  appendNumber(s.end_unix_ns, out);
  out.append("\""sv);
  {
    Attributes a(out);
    visitAttributes(s, a);
  }
  out.append(",\"status\":{\"code\":"sv);
  out.push_back(s.error ? '2' : '0');  // STATUS_CODE_ERROR, else UNSET (HTTP conventions)
  out.append("}}"sv);
}

}  // namespace

void encodeOtlpJson(std::string_view service_name, const std::vector<SpanRecord>& spans,
                    std::string& out) {
  out.reserve(out.size() + 256 + spans.size() * 900);
  out.append(
      "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
      "\"value\":{\"stringValue\":");
  appendString(service_name, out);
  out.append("}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"sluice\",\"version\":\"" SLUICE_VERSION
             "\"},\"spans\":[");
  bool first = true;
  for (const SpanRecord& s : spans) {
    if (!first) out.push_back(',');
    first = false;
    appendSpan(s, out);
  }
  out.append("]}]}]}"sv);
}

}  // namespace sluice::proxy::tracing
