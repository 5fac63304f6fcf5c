#include "proxy/tracing/otlp_protobuf.h"

#include <bit>
#include <cstdint>
#include <cstring>

#include "proxy/tracing/otlp_protobuf_wire.h"
#include "proxy/tracing/span_attributes.h"

namespace sluice::proxy::tracing {
namespace {

using namespace otlp_wire;

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

// A hex digit's value by its byte (a table: two lookups per byte instead of four branches).
struct Nibbles {
  uint8_t value[256] = {};
  constexpr Nibbles() {
    for (int c = '0'; c <= '9'; ++c) value[c] = static_cast<uint8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) value[c] = static_cast<uint8_t>(c - 'a' + 10);
  }
};
constexpr Nibbles kNibbles{};

// Writes into memory already sized for what it is given (the sizes below are exact).
class Writer {
 public:
  explicit Writer(char* at) : p_(at) {}
  char* at() const { return p_; }
  void varint(uint64_t v) {
    if (v < 0x80) {  // tags and most lengths: one byte
      *p_++ = static_cast<char>(v);
      return;
    }
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
      *p_++ = static_cast<char>((kNibbles.value[static_cast<unsigned char>(hex[i])] << 4) |
                                kNibbles.value[static_cast<unsigned char>(hex[i + 1])]);
    }
  }
  void fixed64(uint32_t field, uint64_t v) {
    tag(field, kFixed64);
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(p_, &v, 8);
      p_ += 8;
    } else {
      for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(v >> (8 * i));
    }
  }

 private:
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

// Flattened: every attribute's key then has a constant length, so its copy is a few moves rather
// than a call (callgrind: 1.5k fewer instructions per request at 100% sampling).
[[gnu::flatten]] void appendOtlpSpan(const SpanRecord& s, SpanBatch& batch) {
  size_t size = spanSize(s);
  size_t at = batch.bytes.size();
  batch.bytes.resize(at + delimitedSize(kScopeSpansSpans, size));
  Writer w(batch.bytes.data() + at);
  writeSpan(s, size, w);
  ++batch.spans;
}

void encodeOtlpEnvelope(std::string_view service_name, size_t spans, std::string& out) {
  // Sizes first, innermost out: every length prefix is known before its message is written.
  constexpr std::string_view kServiceKey = "service.name", kScope = "sluice",
                             kVersion = SLUICE_VERSION;
  size_t service_kv = keyValueSize(kServiceKey, anyStringSize(service_name));
  size_t resource = delimitedSize(kResourceAttributes, service_kv);
  size_t scope =
      delimitedSize(kScopeName, kScope.size()) + delimitedSize(kScopeVersion, kVersion.size());
  size_t scope_spans = delimitedSize(kScopeSpansScope, scope) + spans;
  size_t resource_spans = delimitedSize(kResourceSpansResource, resource) +
                          delimitedSize(kResourceSpansScope, scope_spans);
  size_t envelope = delimitedSize(kRequestResourceSpans, resource_spans) - spans;

  out.resize(envelope);
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
}

void encodeOtlpProtobuf(std::string_view service_name, const std::vector<SpanBatch>& batches,
                        std::string& out) {
  size_t spans = 0;
  for (const SpanBatch& b : batches) spans += b.bytes.size();
  encodeOtlpEnvelope(service_name, spans, out);
  for (const SpanBatch& b : batches) out += b.bytes;  // already ScopeSpans.spans fields
}

void encodeOtlpProtobuf(std::string_view service_name,
                        const std::vector<std::vector<SpanRecord>>& batches, std::string& out) {
  std::vector<SpanBatch> encoded(batches.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    for (const SpanRecord& s : batches[i]) appendOtlpSpan(s, encoded[i]);
  }
  encodeOtlpProtobuf(service_name, encoded, out);
}

}  // namespace sluice::proxy::tracing
