#include "proxy/tracing/otlp_json.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "proxy/tracing/otlp_protobuf.h"
#include "proxy/tracing/request_spans.h"

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
  s.path = "/a\"b\x01\xff";
  s.status = 503;
  s.error = true;
  return s;
}

TEST(OtlpJson, IsTheProtobufJsonMappingOfAnExportRequest) {
  std::string out;
  encodeOtlpJson("edge", {span(), span()}, out);
  auto doc = nlohmann::json::parse(out);  // valid JSON whatever bytes the path had
  const auto& rs = doc["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0]["key"], "service.name");
  EXPECT_EQ(rs["resource"]["attributes"][0]["value"]["stringValue"], "edge");
  const auto& spans = rs["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  const auto& s = spans[0];
  EXPECT_EQ(s["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s["spanId"], "00f067aa0ba902b7");
  EXPECT_EQ(s["parentSpanId"], "1111111111111111");
  EXPECT_EQ(s["name"], "GET api");
  EXPECT_EQ(s["kind"], 2);
  EXPECT_EQ(s["startTimeUnixNano"], "1717245296789000000");  // 64-bit numbers as strings
  EXPECT_EQ(s["status"]["code"], 2);
  bool saw_status = false, saw_path = false;
  for (const auto& a : s["attributes"]) {
    if (a["key"] == "http.response.status_code") {
      saw_status = a["value"]["intValue"] == "503";
    }
    if (a["key"] == "url.path") saw_path = a["value"]["stringValue"] == "/a\"b\x01\xc3\xbf";
    EXPECT_NE(a["key"], "client.address");  // empty attributes are left out
  }
  EXPECT_TRUE(saw_status);
  EXPECT_TRUE(saw_path);
}

uint64_t counter(void* state) {
  return ++*static_cast<uint64_t*>(state);
}

TEST(RequestSpans, TriesAreChildrenOfTheServerSpanAndRetriesCountResends) {
  base::HeaderMap h;
  h.add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  uint64_t n = 0;
  base::TraceContext trace;
  trace.begin(h, 0.0, counter, &n);
  SpanBatch encoded;
  RequestSpans spans;
  // Times come on the steady clock and are placed on the wall clock from the request's start.
  auto wall = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  auto t0 = std::chrono::steady_clock::now();
  auto ms = [t0](int n) { return t0 + std::chrono::milliseconds(n); };
  spans.begin(trace, &encoded, wall, t0);
  ASSERT_TRUE(spans.active());
  trace.beginTry(counter, &n);
  spans.beginTry(trace, "GET", "api", "10.0.0.1:8080", ms(1));
  std::string first(trace.clientSpanId());
  trace.beginTry(counter, &n);
  spans.beginTry(trace, "GET", "api", "[::1]:81", ms(5));  // the first try ends as retried
  spans.endTry(200, {}, ms(9));
  ServerSpanFacts f;
  f.span.method = "GET";
  f.span.status = 200;
  f.tries = 2;
  f.end = ms(12);
  spans.finish(trace, f);
  EXPECT_EQ(encoded.spans, 3u);
  std::vector<SpanRecord> batch;  // as the exporter reads them back for JSON
  ASSERT_TRUE(decodeOtlpSpans(encoded.bytes, batch));
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(std::string(batch[0].span_id, 16), first);
  EXPECT_TRUE(batch[0].error);
  EXPECT_EQ(batch[0].error_type, "retried");
  EXPECT_EQ(batch[0].host, "10.0.0.1");
  EXPECT_EQ(batch[0].port, 8080);
  EXPECT_EQ(batch[1].resend_count, 1);
  EXPECT_EQ(batch[1].host, "::1");
  EXPECT_EQ(batch[1].status, 200);
  EXPECT_EQ(std::string(batch[1].parent_id, 16), std::string(trace.spanId()));
  EXPECT_EQ(batch[2].kind, SpanKind::Server);
  EXPECT_EQ(std::string(batch[2].parent_id, 16), "00f067aa0ba902b7");
  EXPECT_EQ(batch[2].resend_count, 1);
  constexpr uint64_t kWallNs = 1'700'000'000'000'000'000, kMs = 1'000'000;
  EXPECT_EQ(batch[0].start_unix_ns, kWallNs + 1 * kMs);
  EXPECT_EQ(batch[0].end_unix_ns, kWallNs + 5 * kMs);
  EXPECT_EQ(batch[1].start_unix_ns, kWallNs + 5 * kMs);
  EXPECT_EQ(batch[1].end_unix_ns, kWallNs + 9 * kMs);
  EXPECT_EQ(batch[2].start_unix_ns, kWallNs);
  EXPECT_EQ(batch[2].end_unix_ns, kWallNs + 12 * kMs);
  EXPECT_FALSE(spans.active());
}

TEST(RequestSpans, AnUnsampledRequestRecordsNothing) {
  base::HeaderMap h;
  h.add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  uint64_t n = 0;
  base::TraceContext trace;
  trace.begin(h, 1.0, counter, &n);  // the parent's flag wins over the sample rate
  SpanBatch batch;
  RequestSpans spans;
  spans.begin(trace, &batch, std::chrono::system_clock::now(), std::chrono::steady_clock::now());
  EXPECT_FALSE(spans.active());
  spans.beginTry(trace, "GET", "api", "10.0.0.1:8080", std::chrono::steady_clock::now());
  spans.finish(trace, ServerSpanFacts{});
  EXPECT_EQ(batch.spans, 0u);
  EXPECT_TRUE(batch.bytes.empty());
}

}  // namespace
}  // namespace sluice::proxy::tracing
