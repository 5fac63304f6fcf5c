// Tests for config/redis_url.cc: the Redis URLs `cache_sync` accepts and what it says of others.
#include "config/redis_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(RedisUrl, HostPortDb) {
  auto u = parseRedisUrl("redis://10.0.0.1:6380/2");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "10.0.0.1");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 2);
}

TEST(RedisUrl, Defaults) {
  auto u = parseRedisUrl("redis://cache.internal");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "cache.internal");
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 0);
  auto slash = parseRedisUrl("redis://cache.internal:7000/");
  ASSERT_TRUE(slash) << slash.error();
  EXPECT_EQ(slash->port, 7000);
}

TEST(RedisUrl, Ipv6) {
  auto u = parseRedisUrl("redis://[::1]:6390/1");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 6390);
  EXPECT_EQ(u->db, 1);
  auto bare = parseRedisUrl("redis://[2001:db8::7]");
  ASSERT_TRUE(bare) << bare.error();
  EXPECT_EQ(bare->host, "2001:db8::7");
  EXPECT_EQ(bare->port, 6379);
}

TEST(RedisUrl, Refused) {
  using ::testing::HasSubstr;
  EXPECT_THAT(parseRedisUrl("http://x:1").error(), HasSubstr("redis://host:port"));
  EXPECT_THAT(parseRedisUrl("rediss://x:1").error(), HasSubstr("TLS"));
  EXPECT_THAT(parseRedisUrl("redis://:pw@x:1").error(), HasSubstr("credentials"));
  EXPECT_THAT(parseRedisUrl("redis://").error(), HasSubstr("no host"));
  EXPECT_THAT(parseRedisUrl("redis://x:0").error(), HasSubstr("1-65535"));
  EXPECT_THAT(parseRedisUrl("redis://x:65536").error(), HasSubstr("1-65535"));
  EXPECT_THAT(parseRedisUrl("redis://x:80a").error(), HasSubstr("1-65535"));
  EXPECT_THAT(parseRedisUrl("redis://x:1/zero").error(), HasSubstr("db"));
  EXPECT_THAT(parseRedisUrl("redis://[::1:1").error(), HasSubstr("]"));
}

}  // namespace
}  // namespace sluice::config
