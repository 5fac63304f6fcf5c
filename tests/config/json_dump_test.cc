// Tests for config/json_dump.h: string escaping, the shape of the dump, and a round trip (the
// dump is itself a valid config that loads back to the same dump).
#include "config/json_dump.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;

TEST(JsonQuote, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(jsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(jsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(jsonQuote("ok\n\r\t"), "\"ok\\n\\r\\t\"");
  EXPECT_EQ(jsonQuote(std::string_view("\x01\x1f\x7f\0", 4)), "\"\\u0001\\u001f\\u007f\\u0000\"");
  EXPECT_EQ(jsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 unchanged
  EXPECT_EQ(jsonQuote(""), "\"\"");
}

// The access log's directory is of another machine: file checks are off.
const LoadOptions kNoFileChecks{false, nullptr};

constexpr const char* kConfig = R"(workers: 2
listeners:
  - {name: public, address: "0.0.0.0:8080"}
  - {name: v6, address: "[::1]:8081"}
admin: {address: "127.0.0.1:9901"}
limits: {max_header_bytes: 64KiB, idle_timeout: 90s, drain_timeout: 250ms}
trusted_proxies: [10.0.0.0/8]
access_log: {path: /var/log/sluice/access.log, format: combined}
upstreams:
  - name: api
    targets: [{address: "127.0.0.1:9001", weight: 2}, {address: "api-2.internal:9001"}]
    timeouts: {connect: 1s}
    retries: {on: [reset, 503], budget: 15%, per_try_timeout: 5s}
routes:
  - name: api
    match: {host: "*.example.com", path_prefix: /v1/, methods: [GET], headers: {x-env: prod}}
    upstream: api
    rewrite: {strip_prefix: /v1}
    request_headers: {set: {x-gateway: sluice}, remove: [x-debug]}
  - name: teapot
    match: {path: /tea}
    respond: {status: 418, body: "short \"and\" stout\n\u0001", headers: {content-type: text/plain}}
)";

TEST(ToJson, WritesEveryFieldWithUnits) {
  auto r = loadString(kConfig, "/etc/sluice/sluice.yaml", kNoFileChecks);
  ASSERT_TRUE(r.config);
  std::string json = toJson(*r.config);
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_THAT(json, HasSubstr("\"workers\":2,"));
  EXPECT_THAT(json, HasSubstr("\"address\":\"[::1]:8081\""));
  EXPECT_THAT(json, HasSubstr("\"max_header_bytes\":65536,"));
  EXPECT_THAT(json, HasSubstr("\"header_timeout\":\"10s\""));
  EXPECT_THAT(json, HasSubstr("\"idle_timeout\":\"90s\""));
  EXPECT_THAT(json, HasSubstr("\"drain_timeout\":\"250ms\""));
  EXPECT_THAT(json, HasSubstr("\"trusted_proxies\":[\"10.0.0.0/8\"]"));
  EXPECT_THAT(json, HasSubstr("\"format\":\"combined\""));
  EXPECT_THAT(json, HasSubstr("\"budget\":\"15%\""));
  EXPECT_THAT(json, HasSubstr("\"deadline\":null"));
  EXPECT_THAT(json, HasSubstr("\"hash_key\":\"ip\""));  // the default, as the README says
  EXPECT_THAT(json, HasSubstr("\"health_check\":null"));
  EXPECT_THAT(json, HasSubstr("\"rate_limit_store\":null"));
  EXPECT_THAT(json, HasSubstr("\"body\":\"short \\\"and\\\" stout\\n\\u0001\""));
  EXPECT_THAT(json, HasSubstr("\"upstream\":null,\"respond\":{\"status\":418"));
  EXPECT_THAT(json, HasSubstr("\"filters\":[]"));
}

TEST(ToJson, RoundTripsThroughTheLoader) {
  auto first = loadString(kConfig, "/etc/sluice/sluice.yaml", kNoFileChecks);
  ASSERT_TRUE(first.config);
  std::string json = toJson(*first.config);
  auto second = loadString(json, "/etc/sluice/dump.json", kNoFileChecks);
  ASSERT_TRUE(second.config) << second.errors[0].text() << "\n" << json;
  EXPECT_EQ(toJson(*second.config), json);
}

TEST(ToJson, DefaultsOfAMinimalConfig) {
  auto r = loadString("listeners: [{name: l, address: \"127.0.0.1:1\"}]\n", "s.yaml");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(
      toJson(*r.config),
      "{\"workers\":1,\"io\":\"epoll\",\"listeners\":[{\"name\":\"l\",\"address\":\"127.0.0.1:1\","
      "\"proxy_protocol\":false,\"defer_accept\":true,\"tls\":null,\"http2\":{\"max_concurrent_"
      "streams\":128,"
      "\"initial_stream_window\":65536,\"initial_connection_window\":1048576,"
      "\"max_frame_size\":16384,\"max_header_list_size\":32768,\"h2c\":false}}],"
      "\"admin\":{\"address\":null},"
      "\"limits\":{\"max_connections\":10000,\"max_header_bytes\":32768,\"max_headers\":100,"
      "\"max_body_bytes\":10485760,\"header_timeout\":\"10s\",\"idle_timeout\":\"1m\","
      "\"drain_timeout\":\"30s\",\"send_timeout\":\"1m\"},\"trusted_proxies\":[\"127.0.0.1/32\"],"
      "\"access_log\":{\"path\":\"stdout\",\"format\":\"json\"},\"tracing\":null,"
      "\"upstreams\":[],"
      "\"rate_limit_store\":null,\"routes\":[]}");
}

TEST(ToJson, FiltersAndOptionalSectionsAreWritten) {
  Config c;
  Upstream u;
  u.name = "api";
  u.balancer = "consistent_hash";
  u.hash_key = "header:x-user";
  u.health_check = HealthCheck{};
  u.circuit_breaker = CircuitBreaker{};
  u.circuit_breaker->failure_ratio = FailureRatio{};
  c.upstreams.push_back(u);
  Route r;
  r.name = "r";
  r.upstream = "api";
  TokenBucketFilter tb;
  tb.rate = Rate{6000, Duration{60'000}};
  tb.burst = 100;
  r.filters.push_back({"token_bucket", tb});
  CacheFilter cache;
  cache.ttl_jitter = 0.1;
  r.filters.push_back({"cache", cache});
  r.filters.push_back({"circuit_breaker", CircuitBreakerFilter{}});
  c.routes.push_back(r);
  std::string json = toJson(c);
  EXPECT_THAT(json, HasSubstr("\"hash_key\":\"header:x-user\""));
  EXPECT_THAT(json, HasSubstr("\"expect_status\":[\"200-399\"]"));
  EXPECT_THAT(json, HasSubstr("\"failure_ratio\":{\"ratio\":0.5,\"window\":\"10s\""));
  EXPECT_THAT(json,
              HasSubstr("{\"token_bucket\":{\"rate\":\"6000/m\",\"burst\":100,\"key\":\"ip\""));
  EXPECT_THAT(json, HasSubstr("\"ttl_jitter\":\"10%\""));
  EXPECT_THAT(json, HasSubstr("{\"circuit_breaker\":{}}"));
}

}  // namespace
}  // namespace sluice::config
