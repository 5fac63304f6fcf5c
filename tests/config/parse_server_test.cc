// Tests for the rate_limit_store section of config/parse_server.cc: the single-server form and
// the Sentinel form, and that /config's JSON of the Sentinel form loads back the same.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/json_dump.h"
#include "config/loader.h"

namespace sluice::config {
namespace {

const LoadOptions kNoFileChecks{false, nullptr};

std::string withStore(const std::string& store) {
  return "listeners: [{name: public, address: 127.0.0.1:8080}]\n"
         "upstreams: [{name: api, targets: [{address: 127.0.0.1:9001}]}]\n"
         "rate_limit_store: " +
         store +
         "\n"
         "routes: [{name: all, upstream: api, filters: [{fixed_window: {limit: 5, window: 1s, "
         "scope: cluster}}]}]\n";
}

TEST(RateLimitStore, SingleServer) {
  auto r = loadString(withStore("{redis: 'redis://10.0.0.1:6380/2', on_error: deny}"),
                      "/etc/sluice/sluice.yaml", kNoFileChecks);
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].text());
  ASSERT_TRUE(r.config->rate_limit_store);
  EXPECT_EQ(r.config->rate_limit_store->redis, "redis://10.0.0.1:6380/2");
  EXPECT_TRUE(r.config->rate_limit_store->sentinels.empty());
  EXPECT_EQ(r.config->rate_limit_store->on_error, RateLimitOnError::Deny);
}

TEST(RateLimitStore, Sentinels) {
  auto r =
      loadString(withStore("{sentinels: ['10.0.0.1:26379', 'sentinel-b:26380', '[::1]:26381'], "
                           "master: cache-a, db: 3}"),
                 "/etc/sluice/sluice.yaml", kNoFileChecks);
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].text());
  const RateLimitStore& s = *r.config->rate_limit_store;
  EXPECT_TRUE(s.redis.empty());
  ASSERT_EQ(s.sentinels.size(), 3u);
  EXPECT_EQ(s.sentinels[0].host, "10.0.0.1");
  EXPECT_EQ(s.sentinels[0].port, 26379);
  EXPECT_EQ(s.sentinels[1].host, "sentinel-b");
  EXPECT_EQ(s.sentinels[2].text(), "[::1]:26381");
  EXPECT_EQ(s.master, "cache-a");
  EXPECT_EQ(s.db, 3);
  EXPECT_EQ(s.on_error, RateLimitOnError::Local);

  std::string json = toJson(*r.config);
  EXPECT_THAT(json, ::testing::HasSubstr(
                        "\"rate_limit_store\":{\"sentinels\":[\"10.0.0.1:26379\","
                        "\"sentinel-b:26380\",\"[::1]:26381\"],\"master\":\"cache-a\",\"db\":3,"
                        "\"on_error\":\"local\"}"));
  auto again = loadString(json, "/etc/sluice/dump.json", kNoFileChecks);
  ASSERT_TRUE(again.config) << (again.errors.empty() ? "" : again.errors[0].text());
  EXPECT_EQ(toJson(*again.config), json);
}

TEST(RateLimitStore, SentinelFormErrors) {
  auto r = loadString(withStore("{sentinels: [], master: m}"), "/x.yaml", kNoFileChecks);
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].text(), ::testing::HasSubstr("sentinels: the list is empty"));

  r = loadString(withStore("{master: m}"), "/x.yaml", kNoFileChecks);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].text(), ::testing::HasSubstr("rate_limit_store needs \"sentinels\""));

  r = loadString(withStore("{sentinels: ['a:1'], master: 'two words'}"), "/x.yaml", kNoFileChecks);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].text(), ::testing::HasSubstr("is not a master name"));

  r = loadString(withStore("{sentinels: ['a:1'], master: m, db: -1}"), "/x.yaml", kNoFileChecks);
  EXPECT_EQ(r.errors.size(), 1u);
}

}  // namespace
}  // namespace sluice::config
