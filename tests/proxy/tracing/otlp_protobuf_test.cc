#include "proxy/tracing/otlp_protobuf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string_view>

namespace sluice::proxy::tracing {
namespace {

SpanRecord span() {
  SpanRecord s;
  std::memcpy(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736", 32);
  std::memcpy(s.span_id, "00f067aa0ba902b7", 16);
  std::memcpy(s.parent_id, "1111111111111111", 16);
  s.has_parent = true;
  s.start_unix_ns = 1717245296789000000ull;
  s.end_unix_ns = 1717245296790000000ull;
  s.method = "GET";
  s.route = "api";
  s.status = 503;
  s.error = true;
  return s;
}

// A protobuf wire reader for the test: the fields of one message, length-delimited ones as
// their bytes, varints and fixed64 as numbers (as a string of the value).
struct Field {
  uint32_t number;
  std::string value;
};
uint64_t readVarint(std::string_view& in) {
  uint64_t v = 0;
  for (int shift = 0; !in.empty(); shift += 7) {
    auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  ADD_FAILURE() << "truncated varint";
  return v;
}
std::vector<Field> fields(std::string_view in) {
  std::vector<Field> out;
  while (!in.empty()) {
    uint64_t tag = readVarint(in);
    Field f{static_cast<uint32_t>(tag >> 3), {}};
    switch (tag & 7) {
      case 0:
        f.value = std::to_string(readVarint(in));
        break;
      case 1: {
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<unsigned char>(in[i])) << (8 * i);
        in.remove_prefix(8);
        f.value = std::to_string(v);
        break;
      }
      case 2: {
        uint64_t len = readVarint(in);
        EXPECT_LE(len, in.size());
        f.value = std::string(in.substr(0, len));
        in.remove_prefix(len);
        break;
      }
      default:
        ADD_FAILURE() << "wire type " << (tag & 7);
        return out;
    }
    out.push_back(std::move(f));
  }
  return out;
}
const std::string& only(const std::vector<Field>& fs, uint32_t number) {
  static const std::string none;
  for (const Field& f : fs) {
    if (f.number == number) return f.value;
  }
  ADD_FAILURE() << "no field " << number;
  return none;
}

TEST(OtlpProtobuf, IsAnExportTraceServiceRequest) {
  std::string out(100'000, 'x');  // what it held is replaced
  encodeOtlpProtobuf("edge", {{span()}, {span()}}, out);
  auto request = fields(out);
  ASSERT_EQ(request.size(), 1u);
  auto resource_spans = fields(only(request, 1));
  auto resource = fields(only(resource_spans, 1));
  auto service = fields(only(resource, 1));
  EXPECT_EQ(only(service, 1), "service.name");
  EXPECT_EQ(only(fields(only(service, 2)), 1), "edge");
  auto scope_spans = fields(only(resource_spans, 2));
  auto scope = fields(only(scope_spans, 1));
  EXPECT_EQ(only(scope, 1), "sluice");
  std::vector<std::string> spans;
  for (const Field& f : scope_spans) {
    if (f.number == 2) spans.push_back(f.value);
  }
  ASSERT_EQ(spans.size(), 2u);  // both batches, in order
  auto s = fields(spans[0]);
  EXPECT_EQ(only(s, 1),
            std::string("\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36", 16));
  EXPECT_EQ(only(s, 2), std::string("\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8));
  EXPECT_EQ(only(s, 4), std::string(8, '\x11'));
  EXPECT_EQ(only(s, 5), "GET api");
  EXPECT_EQ(only(s, 6), "2");
  EXPECT_EQ(only(s, 7), "1717245296789000000");
  EXPECT_EQ(only(s, 8), "1717245296790000000");
  EXPECT_EQ(only(fields(only(s, 15)), 3), "2");  // STATUS_CODE_ERROR
  std::map<std::string, std::string> attributes;
  for (const Field& f : s) {
    if (f.number != 9) continue;
    auto kv = fields(f.value);
    auto any = fields(only(kv, 2));
    ASSERT_EQ(any.size(), 1u);
    attributes[only(kv, 1)] = (any[0].number == 3 ? "int:" : "str:") + any[0].value;
  }
  EXPECT_EQ(attributes["http.request.method"], "str:GET");
  EXPECT_EQ(attributes["http.route"], "str:api");
  EXPECT_EQ(attributes["http.response.status_code"], "int:503");
  EXPECT_EQ(attributes.count("client.address"), 0u);  // empty attributes are left out
}

TEST(OtlpProtobuf, AnUnfailedClientSpanHasNoStatusNorParentlessFields) {
  SpanRecord s = span();
  s.kind = SpanKind::Client;
  s.error = false;
  s.has_parent = false;
  s.status = 200;
  s.target = "10.0.0.1:80";
  std::string out;
  encodeOtlpProtobuf("edge", {{s}}, out);
  auto scope_spans = fields(only(fields(only(fields(out), 1)), 2));
  auto f = fields(only(scope_spans, 2));
  for (const Field& x : f) {
    EXPECT_NE(x.number, 15u);  // status UNSET: no Status message
    EXPECT_NE(x.number, 4u);   // no parent
  }
  EXPECT_EQ(only(f, 5), "GET");  // a client span is named by its method alone
  EXPECT_EQ(only(f, 6), "3");
  for (const Field& x : f) {
    if (x.number == 9) {
      EXPECT_NE(only(fields(x.value), 1), "sluice.target");
    }
  }
}

TEST(OtlpProtobuf, LengthsAboveOneVarintByteAreExact) {
  SpanRecord s = span();
  std::string path(300, 'p');
  s.path = path;                         // a 2-byte length inside a KeyValue, inside the span
  std::vector<SpanRecord> many(200, s);  // the request's own length takes 3 bytes
  std::string out;
  encodeOtlpProtobuf(std::string(130, 's'), {many}, out);
  auto scope_spans = fields(only(fields(only(fields(out), 1)), 2));
  size_t n = 0;
  for (const Field& f : scope_spans) n += f.number == 2;
  EXPECT_EQ(n, 200u);
}

// Every field and attribute the encoder writes, read back as it was (the JSON encoding takes
// its records this way), so the encoder's attribute list and the decoder's cannot drift apart.
TEST(OtlpProtobuf, SpansReadBackAsWritten) {
  SpanRecord server = span();
  server.path = "/a/b";
  server.scheme = "https";
  server.host = "example.com";
  server.client_ip = "10.1.2.3";
  server.protocol = "2";
  server.resend_count = 2;
  server.upstream = "web";
  server.target = "10.0.0.1:80";
  server.ratelimit = "allowed";
  server.cache = "miss";
  SpanRecord client = span();
  client.kind = SpanKind::Client;
  std::memcpy(client.span_id, "0123456789abcdef", 16);
  client.host = "10.0.0.1";
  client.port = 80;
  client.status = -1;
  client.error_type = "timeout";
  client.error = true;
  SpanRecord bare = span();  // no parent, no status, nothing optional
  bare.has_parent = false;
  bare.error = false;
  bare.method = {};
  bare.route = {};
  bare.status = -1;
  SpanBatch batch;
  for (const SpanRecord* s : {&server, &client, &bare}) appendOtlpSpan(*s, batch);
  EXPECT_EQ(batch.spans, 3u);
  std::vector<SpanRecord> back;
  ASSERT_TRUE(decodeOtlpSpans(batch.bytes, back));
  ASSERT_EQ(back.size(), 3u);
  auto same = [](const SpanRecord& a, const SpanRecord& b) {
    EXPECT_EQ(std::string_view(a.trace_id, 32), std::string_view(b.trace_id, 32));
    EXPECT_EQ(std::string_view(a.span_id, 16), std::string_view(b.span_id, 16));
    EXPECT_EQ(a.has_parent, b.has_parent);
    if (a.has_parent) {
      EXPECT_EQ(std::string_view(a.parent_id, 16), std::string_view(b.parent_id, 16));
    }
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.start_unix_ns, b.start_unix_ns);
    EXPECT_EQ(a.end_unix_ns, b.end_unix_ns);
    EXPECT_EQ(a.error, b.error);
    for (auto f :
         {&SpanRecord::method, &SpanRecord::route, &SpanRecord::path, &SpanRecord::scheme,
          &SpanRecord::host, &SpanRecord::client_ip, &SpanRecord::protocol, &SpanRecord::upstream,
          &SpanRecord::ratelimit, &SpanRecord::cache, &SpanRecord::error_type}) {
      EXPECT_EQ(a.*f, b.*f);
    }
    // sluice.target goes out on server spans only (a try has server.address and port).
    EXPECT_EQ(a.kind == SpanKind::Server ? a.target : std::string_view(), b.target);
    for (auto f : {&SpanRecord::port, &SpanRecord::status, &SpanRecord::resend_count}) {
      EXPECT_EQ(a.*f, b.*f);
    }
  };
  same(server, back[0]);
  same(client, back[1]);
  same(bare, back[2]);
  std::vector<SpanRecord> none;
  EXPECT_FALSE(decodeOtlpSpans(std::string_view(batch.bytes).substr(0, 40), none));
}

TEST(OtlpProtobuf, APrefixOfSpansIsWhole) {
  SpanBatch batch;
  for (int i = 0; i < 5; ++i) appendOtlpSpan(span(), batch);
  size_t one = batch.bytes.size() / 5;
  EXPECT_EQ(otlpSpansPrefix(batch.bytes, 2), 2 * one);
  EXPECT_EQ(otlpSpansPrefix(batch.bytes, 0), 0u);
  EXPECT_EQ(otlpSpansPrefix(batch.bytes, 9), batch.bytes.size());
}

}  // namespace
}  // namespace sluice::proxy::tracing
