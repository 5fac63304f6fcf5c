// Tests for the pure parts of filters/redis_sentinel.h: the store URL a Sentinel config becomes,
// +switch-master messages, ports in Sentinel replies, and the process-wide failover record.
#include "filters/redis_sentinel.h"

#include <gtest/gtest.h>

namespace sluice::filters {
namespace {

config::RateLimitStore sentinelStore() {
  config::RateLimitStore s;
  s.sentinels = {{"10.0.0.1", 26379}, {"sentinel-b", 26380}, {"::1", 26381}};
  s.master = "cache-a";
  s.db = 2;
  return s;
}

TEST(SentinelUrl, RoundTrips) {
  std::string url = sentinelUrl(sentinelStore());
  EXPECT_EQ(url, "redis-sentinel://10.0.0.1:26379,sentinel-b:26380,[::1]:26381/2#cache-a");
  auto t = parseSentinelUrl(url);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->sentinels.size(), 3u);
  EXPECT_EQ(t->sentinels[0], (HostPort{"10.0.0.1", 26379}));
  EXPECT_EQ(t->sentinels[1], (HostPort{"sentinel-b", 26380}));
  EXPECT_EQ(t->sentinels[2], (HostPort{"::1", 26381}));
  EXPECT_EQ(t->sentinels[2].text(), "[::1]:26381");
  EXPECT_EQ(t->master, "cache-a");
  EXPECT_EQ(t->db, 2);
}

TEST(SentinelUrl, RefusesOtherUrls) {
  EXPECT_FALSE(parseSentinelUrl("redis://127.0.0.1:6379/0"));
  EXPECT_FALSE(parseSentinelUrl("redis-sentinel://127.0.0.1:26379/0"));   // no master
  EXPECT_FALSE(parseSentinelUrl("redis-sentinel://127.0.0.1:26379/0#"));  // empty master
  EXPECT_FALSE(parseSentinelUrl("redis-sentinel:///0#m"));                // no sentinel
  EXPECT_FALSE(parseSentinelUrl("redis-sentinel://127.0.0.1/0#m"));       // no port
  EXPECT_FALSE(parseSentinelUrl("redis-sentinel://::1:5/0#m"));           // v6 needs brackets
  EXPECT_FALSE(parseSentinelUrl("redis-sentinel://a:1/x#m"));             // db not a number
  auto t = parseSentinelUrl("redis-sentinel://a:1#m");                    // db 0 by default
  ASSERT_TRUE(t);
  EXPECT_EQ(t->db, 0);
}

TEST(SwitchMaster, NewAddressOfOurMaster) {
  auto hp = parseSwitchMaster("cache-a 10.0.0.5 6379 10.0.0.6 6380", "cache-a");
  ASSERT_TRUE(hp);
  EXPECT_EQ(*hp, (HostPort{"10.0.0.6", 6380}));
  EXPECT_FALSE(parseSwitchMaster("cache-b 10.0.0.5 6379 10.0.0.6 6380", "cache-a"));
  EXPECT_FALSE(parseSwitchMaster("cache-a 10.0.0.5 6379 10.0.0.6", "cache-a"));
  EXPECT_FALSE(parseSwitchMaster("cache-a 10.0.0.5 6379 10.0.0.6 0", "cache-a"));
  EXPECT_FALSE(parseSwitchMaster("cache-a 10.0.0.5 6379 10.0.0.6 70000", "cache-a"));
  EXPECT_FALSE(parseSwitchMaster("", "cache-a"));
  EXPECT_FALSE(parseSwitchMaster("cache-ab 1 2 3 4", "cache-a"));
}

TEST(SentinelReply, Port) {
  EXPECT_EQ(parsePort("6379"), 6379);
  EXPECT_FALSE(parsePort(""));
  EXPECT_FALSE(parsePort("63a"));
  EXPECT_FALSE(parsePort("-1"));
  EXPECT_FALSE(parsePort("65536"));
}

TEST(MasterInUse, OnlyAChangeIsNews) {
  std::string previous;
  const std::string url = "redis-sentinel://t:1/0#MasterInUse";
  EXPECT_FALSE(noteMasterInUse(url, "10.0.0.1:6379", &previous));  // the first: no failover
  EXPECT_FALSE(noteMasterInUse(url, "10.0.0.1:6379", &previous));  // another worker, same
  EXPECT_TRUE(noteMasterInUse(url, "10.0.0.2:6379", &previous));
  EXPECT_EQ(previous, "10.0.0.1:6379");
  EXPECT_FALSE(noteMasterInUse(url, "10.0.0.2:6379", &previous));
  EXPECT_FALSE(noteMasterInUse(url + "x", "10.0.0.9:6379", &previous));  // another store
}

}  // namespace
}  // namespace sluice::filters
