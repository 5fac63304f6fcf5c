// retries.backoff in an upstream (config/parse_upstream.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/json_dump.h"
#include "config/loader.h"

namespace sluice::config {
namespace {

LoadResult loadRetries(const std::string& retries) {
  return loadString(R"(
listeners:
  - {name: public, address: 127.0.0.1:8080}
upstreams:
  - name: api
    targets: [{address: 127.0.0.1:9001}]
    retries: )" + retries +
                        R"(
routes:
  - name: all
    upstream: api
)",
                    "s.yaml");
}

std::vector<std::string> texts(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.errors) out.push_back(d.text());
  return out;
}

TEST(ParseUpstream, NoBackoffByDefault) {
  auto r = loadRetries("{attempts: 2}");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
  EXPECT_FALSE(r.config->upstreams[0].retries.backoff);
}

TEST(ParseUpstream, BackoffDurations) {
  auto r = loadRetries("{attempts: 2, backoff: {base: 10ms, max: 1s}}");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
  const auto& b = r.config->upstreams[0].retries.backoff;
  ASSERT_TRUE(b);
  EXPECT_EQ(b->base, Duration{10});
  EXPECT_EQ(b->max, Duration{1'000});
}

TEST(ParseUpstream, BackoffDefaultsWhenEmpty) {
  auto r = loadRetries("{backoff: {}}");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
  ASSERT_TRUE(r.config->upstreams[0].retries.backoff);
  EXPECT_EQ(r.config->upstreams[0].retries.backoff->base, Duration{25});
  EXPECT_EQ(r.config->upstreams[0].retries.backoff->max, Duration{250});
}

TEST(ParseUpstream, BackoffMaxBelowBase) {
  auto r = loadRetries("{backoff: {base: 100ms, max: 50ms}}");
  EXPECT_FALSE(r.config);
  EXPECT_THAT(texts(r), ::testing::ElementsAre(::testing::HasSubstr(
                            "backoff: max 50ms is below base 100ms; make max at least base")));
  // Only base given, above the default max: the error points at base.
  r = loadRetries("{backoff: {base: 1s}}");
  EXPECT_FALSE(r.config);
  EXPECT_THAT(texts(r), ::testing::ElementsAre(::testing::HasSubstr("max 250ms is below base 1s")));
}

TEST(ParseUpstream, BackoffUnknownKeyAndBadDuration) {
  auto r = loadRetries("{backoff: {base: 10ms, factor: 2}}");
  EXPECT_FALSE(r.config);
  EXPECT_EQ(texts(r).size(), 1u);
  r = loadRetries("{backoff: {base: soon}}");
  EXPECT_FALSE(r.config);
  EXPECT_EQ(texts(r).size(), 1u);
}

TEST(ParseUpstream, BackoffRoundTripsThroughJson) {
  for (const char* retries : {"{backoff: {base: 40ms, max: 2s}}", "{attempts: 1}"}) {
    auto r = loadRetries(retries);
    ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
    const std::string json = toJson(*r.config);
    EXPECT_THAT(json, ::testing::HasSubstr(r.config->upstreams[0].retries.backoff
                                               ? "\"backoff\":{\"base\":\"40ms\",\"max\":\"2s\"}"
                                               : "\"backoff\":null"));
    auto again = loadString(json, "s.json");
    ASSERT_TRUE(again.config) << ::testing::PrintToString(texts(again));
    EXPECT_EQ(toJson(*again.config), json);
  }
}

}  // namespace
}  // namespace sluice::config
