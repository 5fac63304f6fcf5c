// Tests for config/parse_cache_sync.cc: the two forms of `cache_sync`, its default channel, the
// check that use_rate_limit_store has a single-server store, and its JSON under GET /config.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/json_dump.h"
#include "config/loader.h"

namespace sluice::config {
namespace {

const LoadOptions kNoFileChecks{false, nullptr};
constexpr const char* kListener = "listeners: [{name: public, address: 127.0.0.1:8080}]\n";

LoadResult load(const std::string& rest) {
  return loadString(std::string(kListener) + rest, "/etc/sluice/sluice.yaml", kNoFileChecks);
}

std::string firstError(const LoadResult& r) {
  return r.errors.empty() ? "" : r.errors[0].text();
}

TEST(CacheSync, OwnServerAndDefaultChannel) {
  auto r = load("cache_sync: {redis: 'redis://10.0.0.1:6380/2'}\n");
  ASSERT_TRUE(r.config) << firstError(r);
  ASSERT_TRUE(r.config->cache_sync);
  EXPECT_EQ(r.config->cache_sync->redis, "redis://10.0.0.1:6380/2");
  EXPECT_FALSE(r.config->cache_sync->use_rate_limit_store);
  EXPECT_EQ(r.config->cache_sync->channel, "sluice:cache:purge");
  EXPECT_THAT(toJson(*r.config),
              ::testing::HasSubstr("\"cache_sync\":{\"redis\":\"redis://10.0.0.1:6380/2\","
                                   "\"channel\":\"sluice:cache:purge\"}"));
}

TEST(CacheSync, RateLimitStoreAndChannel) {
  auto r = load(
      "rate_limit_store: {redis: 'redis://10.0.0.1:6379'}\n"
      "cache_sync: {use_rate_limit_store: true, channel: 'shop:purge'}\n");
  ASSERT_TRUE(r.config) << firstError(r);
  EXPECT_TRUE(r.config->cache_sync->use_rate_limit_store);
  EXPECT_EQ(r.config->cache_sync->channel, "shop:purge");
  EXPECT_THAT(toJson(*r.config), ::testing::HasSubstr("\"cache_sync\":{\"use_rate_limit_store\":"
                                                      "true,\"channel\":\"shop:purge\"}"));
}

TEST(CacheSync, Absent) {
  auto r = load("");
  ASSERT_TRUE(r.config) << firstError(r);
  EXPECT_FALSE(r.config->cache_sync);
  EXPECT_THAT(toJson(*r.config), ::testing::Not(::testing::HasSubstr("cache_sync")));
}

TEST(CacheSync, Errors) {
  using ::testing::HasSubstr;
  EXPECT_THAT(firstError(load("cache_sync: {}\n")), HasSubstr("cache_sync needs \"redis\""));
  EXPECT_THAT(firstError(load("cache_sync: {redis: 'redis://h:99999'}\n")),
              HasSubstr("the port must be 1-65535"));
  EXPECT_THAT(firstError(load("rate_limit_store: {sentinels: ['10.0.0.1:26379'], master: m}\n"
                              "cache_sync: {use_rate_limit_store: true}\n")),
              HasSubstr("Sentinels cannot be used"));
  EXPECT_THAT(firstError(load("cache_sync: {redis: 'redis://h', chanel: x}\n")),
              HasSubstr("unknown key \"chanel\""));
}

}  // namespace
}  // namespace sluice::config
