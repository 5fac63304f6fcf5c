#include "proxy/tracing/otlp_protobuf.h"

#include <cstdint>
#include <cstring>

#include "proxy/tracing/span_attributes.h"

namespace sluice::proxy::tracing {
namespace {

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

constexpr size_t varintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
constexpr size_t tagSize(uint32_t field) {
  return varintSize(field << 3);
}
constexpr size_t delimitedSize(uint32_t field, size_t len) {
  return tagSize(field) + varintSize(len) + len;
}

// Writes into memory already sized for what it is given (the sizes below are exact).
class Writer {
 public:
  explicit Writer(char* at) : p_(at) {}
  char* at() const { return p_; }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void tag(uint32_t field, uint32_t wire) { varint((field << 3) | wire); }
  void header(uint32_t field, size_t len) {
    tag(field, kLengthDelimited);
    varint(len);
  }
  void bytes(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void string(uint32_t field, std::string_view s) {
    header(field, s.size());
    bytes(s);
  }
  // `hex` (lower-case, checked when the trace context was parsed or drawn) as raw bytes.
  void hexBytes(uint32_t field, const char* hex, size_t hex_len) {
    header(field, hex_len / 2);
    for (size_t i = 0; i < hex_len; i += 2) {
      *p_++ = static_cast<char>((nibble(hex[i]) << 4) | nibble(hex[i + 1]));
    }
  }
  void fixed64(uint32_t field, uint64_t v) {
    tag(field, kFixed64);
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(v >> (8 * i));
  }

 private:
  static int nibble(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }
  char* p_;
};

size_t anyStringSize(std::string_view v) {
  return delimitedSize(kAnyString, v.size());
}
size_t anyIntSize(int v) {
  return tagSize(kAnyInt) + varintSize(static_cast<uint64_t>(v));
}
size_t keyValueSize(std::string_view key, size_t any_size) {
  return delimitedSize(kKeyValueKey, key.size()) + delimitedSize(kKeyValueValue, any_size);
}

// The attributes' bytes: first counted (sizes), then written.
struct AttributeSizer {
  size_t total = 0;
  void text(std::string_view key, std::string_view v) {
    total += delimitedSize(kSpanAttributes, keyValueSize(key, anyStringSize(v)));
  }
  void integer(std::string_view key, int v) {
    total += delimitedSize(kSpanAttributes, keyValueSize(key, anyIntSize(v)));
  }
};
struct AttributeWriter {
  Writer& w;
  void text(std::string_view key, std::string_view v) {
    size_t any = anyStringSize(v);
    w.header(kSpanAttributes, keyValueSize(key, any));
    w.string(kKeyValueKey, key);
    w.header(kKeyValueValue, any);
    w.string(kAnyString, v);
  }
  void integer(std::string_view key, int v) {
    size_t any = anyIntSize(v);
    w.header(kSpanAttributes, keyValueSize(key, any));
    w.string(kKeyValueKey, key);
    w.header(kKeyValueValue, any);
    w.tag(kAnyInt, kVarint);
    w.varint(static_cast<uint64_t>(v));
  }
};

// Span names follow the HTTP conventions: "{method} {route}" for a server span, "{method}" for
// a client one.
size_t nameSize(const SpanRecord& s) {
  size_t n = s.method.empty() ? 4 : s.method.size();  // "HTTP" without a method
  if (s.kind == SpanKind::Server && !s.route.empty()) n += 1 + s.route.size();
  return n;
}

size_t spanSize(const SpanRecord& s) {
  AttributeSizer attributes;
  visitAttributes(s, attributes);
  size_t n = delimitedSize(kSpanTraceId, 16) + delimitedSize(kSpanSpanId, 8) +
             delimitedSize(kSpanName, nameSize(s)) + tagSize(kSpanKind) +
             varintSize(static_cast<uint64_t>(s.kind)) + 2 * (tagSize(kSpanStart) + 8) +
             attributes.total;
  if (s.has_parent) n += delimitedSize(kSpanParentSpanId, 8);
  // Status: STATUS_CODE_ERROR (2) when the span failed; UNSET (no status) otherwise.
  if (s.error) n += delimitedSize(kSpanStatus, tagSize(kStatusCode) + 1);
  return n;
}

void writeSpan(const SpanRecord& s, size_t size, Writer& w) {
  w.header(kScopeSpansSpans, size);
  w.hexBytes(kSpanTraceId, s.trace_id, 32);
  w.hexBytes(kSpanSpanId, s.span_id, 16);
  if (s.has_parent) w.hexBytes(kSpanParentSpanId, s.parent_id, 16);
  w.header(kSpanName, nameSize(s));
  w.bytes(s.method.empty() ? std::string_view("HTTP") : std::string_view(s.method));
  if (s.kind == SpanKind::Server && !s.route.empty()) {
    w.bytes(" ");
    w.bytes(s.route);
  }
  w.tag(kSpanKind, kVarint);
  w.varint(static_cast<uint64_t>(s.kind));
  w.fixed64(kSpanStart, s.start_unix_ns);
  w.fixed64(kSpanEnd, s.end_unix_ns);
  AttributeWriter attributes{w};
  visitAttributes(s, attributes);
  if (s.error) {
    w.header(kSpanStatus, tagSize(kStatusCode) + 1);
    w.tag(kStatusCode, kVarint);
    w.varint(2);
  }
}

}  // namespace

void encodeOtlpProtobuf(std::string_view service_name,
                        const std::vector<std::vector<SpanRecord>>& batches, std::string& out) {
  // Sizes first, innermost out: every length prefix is known before its message is written.
  std::vector<size_t> sizes;
  size_t spans = 0;
  for (const auto& batch : batches) {
    for (const SpanRecord& s : batch) {
      sizes.push_back(spanSize(s));
      spans += delimitedSize(kScopeSpansSpans, sizes.back());
    }
  }
  constexpr std::string_view kServiceKey = "service.name", kScope = "sluice",
                             kVersion = SLUICE_VERSION;
  size_t service_kv = keyValueSize(kServiceKey, anyStringSize(service_name));
  size_t resource = delimitedSize(kResourceAttributes, service_kv);
  size_t scope =
      delimitedSize(kScopeName, kScope.size()) + delimitedSize(kScopeVersion, kVersion.size());
  size_t scope_spans = delimitedSize(kScopeSpansScope, scope) + spans;
  size_t resource_spans = delimitedSize(kResourceSpansResource, resource) +
                          delimitedSize(kResourceSpansScope, scope_spans);
  size_t total = delimitedSize(kRequestResourceSpans, resource_spans);

  // Replacing (not appending) lets a buffer reused batch after batch shrink or grow a little
  // instead of being zero-filled whole by resize.
  out.resize(total);
  Writer w(out.data());
  w.header(kRequestResourceSpans, resource_spans);
  w.header(kResourceSpansResource, resource);
  w.header(kResourceAttributes, service_kv);
  w.string(kKeyValueKey, kServiceKey);
  w.header(kKeyValueValue, anyStringSize(service_name));
  w.string(kAnyString, service_name);
  w.header(kResourceSpansScope, scope_spans);
  w.header(kScopeSpansScope, scope);
  w.string(kScopeName, kScope);
  w.string(kScopeVersion, kVersion);
  size_t i = 0;
  for (const auto& batch : batches) {
    for (const SpanRecord& s : batch) writeSpan(s, sizes[i++], w);
  }
}

}  // namespace sluice::proxy::tracing
