#include "filters/rate_limit.h"

#include <gtest/gtest.h>

#include "filters/rate_limit_key.h"
#include "filters/registry.h"
#include "tests/filters/fake_callbacks.h"

namespace sluice::filters {
namespace {

config::Route routeWith(config::FilterSpec spec, const char* name) {
  config::Route r;
  r.name = "api";
  r.filters.push_back(config::FilterEntry{name, std::move(spec)});
  return r;
}

struct Built {
  base::MetricsRegistry
      metrics;  // before the state store: policies remove their collectors from it
  base::StateStore state;
  config::Config config;
  FactoryList chain;
};

void build(Built& b, const config::Route& route) {
  std::string error;
  ASSERT_TRUE(buildRouteChain(b.config, route, b.metrics, b.state, b.chain, error)) << error;
  ASSERT_EQ(b.chain.size(), 1u);
}

TEST(RateLimitFilter, AnswersTooManyRequestsWithDraftFields) {
  config::FixedWindowFilter f;
  f.limit = 2;
  f.window = config::Duration(60'000);
  f.common.key = "header:x-k";
  Built b;
  build(b, routeWith(f, "fixed_window"));
  testing::FakeCallbacks cb;
  base::RequestHead head;
  head.headers.add("x-k", "a");
  for (int i = 0; i < 2; ++i) {
    auto filter = b.chain[0]->create();
    EXPECT_EQ(filter->onRequestHeaders(head, cb), FilterStatus::Continue);
    EXPECT_EQ(cb.ratelimit_field, "allowed");
  }
  auto filter = b.chain[0]->create();
  EXPECT_EQ(filter->onRequestHeaders(head, cb), FilterStatus::Stop);
  ASSERT_EQ(cb.replies.size(), 1u);
  EXPECT_EQ(cb.replies[0].status, 429);
  EXPECT_EQ(*cb.replies[0].headers.get("ratelimit-policy"), "\"fixed_window\";q=2;w=60");
  const std::string* rl = cb.replies[0].headers.get("ratelimit");
  ASSERT_NE(rl, nullptr);
  EXPECT_EQ(rl->rfind("\"fixed_window\";r=0;t=", 0), 0u) << *rl;
  EXPECT_NE(cb.replies[0].headers.get("retry-after"), nullptr);
  EXPECT_EQ(cb.ratelimit_field, "limited");
  EXPECT_NE(b.metrics.render().find(
                "sluice_ratelimit_decisions_total{route=\"api\",policy=\"fixed_window\","
                "result=\"limited\"} 1"),
            std::string::npos);
}

TEST(RateLimitFilter, HeadersOnAllowedResponsesAndDryRun) {
  config::TokenBucketFilter f;
  f.rate.count = 1;
  f.burst = 1;
  f.common.headers = true;
  f.common.dry_run = true;
  Built b;
  build(b, routeWith(f, "token_bucket"));
  testing::FakeCallbacks cb;
  cb.info_.client_ip = "10.0.0.1";
  base::RequestHead head;
  for (int i = 0; i < 3; ++i) {
    auto filter = b.chain[0]->create();
    EXPECT_EQ(filter->onRequestHeaders(head, cb), FilterStatus::Continue);
    base::ResponseHead resp;
    filter->onResponseHeaders(resp, cb);
    EXPECT_EQ(*resp.headers.get("ratelimit-policy"), "\"token_bucket\";q=1;w=1");
    EXPECT_NE(resp.headers.get("ratelimit"), nullptr);
  }
  EXPECT_TRUE(cb.replies.empty());
  EXPECT_EQ(cb.ratelimit_field, "limited");
}

TEST(RateLimitFilter, LeakyBucketDelaysThroughTheProxyTimer) {
  config::LeakyBucketFilter f;
  f.rate.count = 10;
  f.burst = 1;
  f.common.key = "route";
  Built b;
  build(b, routeWith(f, "leaky_bucket"));
  testing::FakeCallbacks cb;
  base::RequestHead head;
  EXPECT_EQ(b.chain[0]->create()->onRequestHeaders(head, cb), FilterStatus::Continue);
  EXPECT_EQ(b.chain[0]->create()->onRequestHeaders(head, cb), FilterStatus::Stop);
  ASSERT_EQ(cb.delays.size(), 1u);
  EXPECT_GT(cb.delays[0].count(), 90);
  EXPECT_LE(cb.delays[0].count(), 100);
  EXPECT_EQ(b.chain[0]->create()->onRequestHeaders(head, cb), FilterStatus::Stop);
  ASSERT_EQ(cb.replies.size(), 1u);
  EXPECT_EQ(cb.replies[0].status, 429);
}

TEST(RateLimitFilter, StateSurvivesARebuildWithTheSameSettings) {
  config::FixedWindowFilter f;
  f.limit = 1;
  f.common.key = "route";
  Built b;
  build(b, routeWith(f, "fixed_window"));
  testing::FakeCallbacks cb;
  base::RequestHead head;
  EXPECT_EQ(b.chain[0]->create()->onRequestHeaders(head, cb), FilterStatus::Continue);
  b.state.beginGeneration();
  build(b, routeWith(f, "fixed_window"));  // a reload with the policy unchanged
  b.state.dropUnused();
  EXPECT_EQ(b.chain[0]->create()->onRequestHeaders(head, cb), FilterStatus::Stop);
  f.limit = 2;  // changed: a fresh state
  b.state.beginGeneration();
  build(b, routeWith(f, "fixed_window"));
  b.state.dropUnused();
  EXPECT_EQ(b.chain[0]->create()->onRequestHeaders(head, cb), FilterStatus::Continue);
}

TEST(RateLimitKey, IpBehindTrustedProxiesAndCombinations) {
  config::Cidr local;
  ASSERT_TRUE(ratelimit::parseIp16("127.0.0.1", local.addr));
  local.prefix_len = 128;
  RateLimitKey key;
  std::string error;
  ASSERT_TRUE(key.init("ip+header:x-k", {local}, error)) << error;
  base::RequestHead head;
  head.headers.add("x-forwarded-for", "1.2.3.4, 127.0.0.1");  // sluice appended the peer
  StreamInfo info;
  info.client_ip = "127.0.0.1";
  std::string out;
  key.evaluate(head, info, out);
  EXPECT_EQ(out, "1.2.3.4\x1f");
  info.client_ip = "9.9.9.9";  // an untrusted peer is the client, whatever it forwards
  head.headers.set("x-forwarded-for", "1.2.3.4, 9.9.9.9");
  head.headers.add("x-k", "v");
  key.evaluate(head, info, out);
  EXPECT_EQ(out, "9.9.9.9\x1fv");
  // The binary peer address, when the connection supplies it, decides trust instead of the text.
  unsigned char peer16[16];
  ASSERT_TRUE(ratelimit::parseIp16("127.0.0.1", peer16));
  info.client_addr16 = peer16;
  head.headers.set("x-forwarded-for", "1.2.3.4, 127.0.0.1");
  key.evaluate(head, info, out);
  EXPECT_EQ(out, "1.2.3.4\x1fv");
  info.client_addr16 = nullptr;

  RateLimitKey absent;
  ASSERT_TRUE(absent.init("cookie:sid+query:k", {}, error));
  base::RequestHead bare;
  bare.target = "/x";
  absent.evaluate(bare, info, out);
  EXPECT_EQ(out, "");
}

TEST(RateLimitFields, StructuredFieldSyntax) {
  EXPECT_EQ(rateLimitPolicyField("api", 100, 60), "\"api\";q=100;w=60");
  EXPECT_EQ(rateLimitField("api", 42, 18), "\"api\";r=42;t=18");
}

}  // namespace
}  // namespace sluice::filters
