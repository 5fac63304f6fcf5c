// Reading spans back from a SpanBatch (otlp_protobuf.h): what the JSON encoding takes its
// records from, and where a batch that does not fit whole in the export queue is cut.
#include <string_view>
#include <vector>

#include "proxy/tracing/otlp_protobuf.h"
#include "proxy/tracing/otlp_protobuf_wire.h"

namespace sluice::proxy::tracing {
namespace {

using namespace otlp_wire;

// Reads what writeSpan wrote (and skips fields it does not know, as protobuf readers do).
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool more() const { return ok_ && !in_.empty(); }
  bool ok() const { return ok_; }
  size_t rest() const { return in_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && !in_.empty(); shift += 7) {
      auto b = static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  std::string_view take(uint64_t n) {
    if (n > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string_view out = in_.substr(0, n);
    in_.remove_prefix(n);
    return out;
  }
  uint64_t fixed64() {
    std::string_view b = take(8);
    uint64_t v = 0;
    for (size_t i = 0; i < b.size(); ++i)
      v |= uint64_t(static_cast<unsigned char>(b[i])) << (8 * i);
    return v;
  }
  void skip(uint32_t wire) {
    if (wire == kVarint) {
      varint();
    } else if (wire == kFixed64) {
      take(8);
    } else if (wire == kLengthDelimited) {
      take(varint());
    } else if (wire == 5) {
      take(4);
    } else {
      ok_ = false;
    }
  }

 private:
  std::string_view in_;
  bool ok_ = true;
};

void toHex(std::string_view raw, char* out, size_t hex_len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < hex_len / 2; ++i) {
    auto b = i < raw.size() ? static_cast<unsigned char>(raw[i]) : 0;
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
}

// The attributes by key: visitAttributes' list read backwards (the round-trip test in
// tests/proxy/tracing/otlp_protobuf_test.cc keeps the two in step).
struct TextAttribute {
  std::string_view key;
  std::string_view SpanRecord::*field;
};
constexpr TextAttribute kTextAttributes[] = {{"http.request.method", &SpanRecord::method},
                                             {"http.route", &SpanRecord::route},
                                             {"url.path", &SpanRecord::path},
                                             {"url.scheme", &SpanRecord::scheme},
                                             {"server.address", &SpanRecord::host},
                                             {"client.address", &SpanRecord::client_ip},
                                             {"network.protocol.version", &SpanRecord::protocol},
                                             {"error.type", &SpanRecord::error_type},
                                             {"sluice.upstream", &SpanRecord::upstream},
                                             {"sluice.target", &SpanRecord::target},
                                             {"sluice.ratelimit", &SpanRecord::ratelimit},
                                             {"sluice.cache", &SpanRecord::cache}};
struct NumberAttribute {
  std::string_view key;
  int SpanRecord::*field;
};
constexpr NumberAttribute kNumberAttributes[] = {
    {"server.port", &SpanRecord::port},
    {"http.response.status_code", &SpanRecord::status},
    {"http.request.resend_count", &SpanRecord::resend_count}};

bool readAttribute(std::string_view kv, SpanRecord& s) {
  Reader r(kv);
  std::string_view key, text;
  int64_t number = -1;
  while (r.more()) {
    uint64_t tag = r.varint();
    auto field = static_cast<uint32_t>(tag >> 3), wire = static_cast<uint32_t>(tag & 7);
    if (field == kKeyValueKey && wire == kLengthDelimited) {
      key = r.take(r.varint());
    } else if (field == kKeyValueValue && wire == kLengthDelimited) {
      Reader any(r.take(r.varint()));
      while (any.more()) {
        uint64_t t = any.varint();
        if ((t >> 3) == kAnyString && (t & 7) == kLengthDelimited) {
          text = any.take(any.varint());
        } else if ((t >> 3) == kAnyInt && (t & 7) == kVarint) {
          number = static_cast<int64_t>(any.varint());
        } else {
          any.skip(static_cast<uint32_t>(t & 7));
        }
      }
      if (!any.ok()) return false;
    } else {
      r.skip(wire);
    }
  }
  for (const TextAttribute& a : kTextAttributes) {
    if (a.key == key) s.*a.field = text;
  }
  for (const NumberAttribute& a : kNumberAttributes) {
    if (a.key == key) s.*a.field = static_cast<int>(number);
  }
  return r.ok();
}

bool readSpan(std::string_view message, SpanRecord& s) {
  Reader r(message);
  while (r.more()) {
    uint64_t tag = r.varint();
    auto field = static_cast<uint32_t>(tag >> 3), wire = static_cast<uint32_t>(tag & 7);
    if (wire == kLengthDelimited && field == kSpanTraceId) {
      toHex(r.take(r.varint()), s.trace_id, 32);
    } else if (wire == kLengthDelimited && field == kSpanSpanId) {
      toHex(r.take(r.varint()), s.span_id, 16);
    } else if (wire == kLengthDelimited && field == kSpanParentSpanId) {
      toHex(r.take(r.varint()), s.parent_id, 16);
      s.has_parent = true;
    } else if (wire == kVarint && field == kSpanKind) {
      s.kind = static_cast<SpanKind>(r.varint());
    } else if (wire == kFixed64 && field == kSpanStart) {
      s.start_unix_ns = r.fixed64();
    } else if (wire == kFixed64 && field == kSpanEnd) {
      s.end_unix_ns = r.fixed64();
    } else if (wire == kLengthDelimited && field == kSpanAttributes) {
      if (!readAttribute(r.take(r.varint()), s)) return false;
    } else if (wire == kLengthDelimited && field == kSpanStatus) {
      Reader status(r.take(r.varint()));
      while (status.more()) {
        uint64_t t = status.varint();
        if ((t >> 3) == kStatusCode && (t & 7) == kVarint) {
          s.error = status.varint() == 2;
        } else {
          status.skip(static_cast<uint32_t>(t & 7));
        }
      }
    } else {
      r.skip(wire);  // the name: rebuilt from method and route
    }
  }
  return r.ok();
}

}  // namespace

bool decodeOtlpSpans(std::string_view bytes, std::vector<SpanRecord>& out) {
  Reader r(bytes);
  while (r.more()) {
    uint64_t tag = r.varint();
    if (tag != ((kScopeSpansSpans << 3) | kLengthDelimited)) return false;
    std::string_view message = r.take(r.varint());
    if (!r.ok() || !readSpan(message, out.emplace_back())) return false;
  }
  return r.ok();
}

size_t otlpSpansPrefix(std::string_view bytes, size_t n) {
  Reader r(bytes);
  for (size_t i = 0; i < n && r.more(); ++i) {
    r.varint();
    r.take(r.varint());
  }
  return r.ok() ? bytes.size() - r.rest() : 0;
}

}  // namespace sluice::proxy::tracing
