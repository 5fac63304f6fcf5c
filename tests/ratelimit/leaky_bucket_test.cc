#include "ratelimit/leaky_bucket.h"

#include <gtest/gtest.h>

namespace sluice::ratelimit {
namespace {

constexpr Nanos kMs = 1'000'000;

TEST(LeakyBucket, DelaysUpToBurstThenRejects) {
  LeakyBucket lb(10, kSecond, 3);  // 10/s: one request leaves every 100 ms
  LeakyBucket::State s;
  Nanos t = kSecond;
  Decision d = lb.take(s, t);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.delay, 0);
  for (int i = 1; i <= 3; ++i) {
    d = lb.take(s, t);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.delay, i * 100 * kMs) << i;
  }
  d = lb.take(s, t);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 100 * kMs);
  // A rejected request does not count: 100 ms later exactly one slot has drained.
  d = lb.take(s, t + 100 * kMs);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.delay, 300 * kMs);
  EXPECT_FALSE(lb.take(s, t + 100 * kMs).allowed);
}

TEST(LeakyBucket, ZeroBurstAllowsExactlyTheRate) {
  LeakyBucket lb(10, kSecond, 0);
  LeakyBucket::State s;
  EXPECT_TRUE(lb.take(s, kSecond).allowed);
  EXPECT_FALSE(lb.take(s, kSecond + 50 * kMs).allowed);
  Decision d = lb.take(s, kSecond + 100 * kMs);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.delay, 0);
}

TEST(LeakyBucket, PartlyDrainedBucketDelaysTheRemainder) {
  LeakyBucket lb(10, kSecond, 5);
  LeakyBucket::State s;
  lb.take(s, 0);
  lb.take(s, 0);                      // excess 1, delay 100 ms
  Decision d = lb.take(s, 50 * kMs);  // excess 1 - 0.5 + 1 = 1.5
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.delay, 150 * kMs);
  d = lb.take(s, 10 * kSecond);  // drained
  EXPECT_EQ(d.delay, 0);
}

TEST(LeakyBucket, EvictionCostIsWhatIsStillQueued) {
  LeakyBucket lb(10, kSecond, 5);  // drains one request per 100 ms
  LeakyBucket::State s;
  Nanos t = 1000 * kMs;
  EXPECT_EQ(lb.evictionCost(s, t), 0u);
  lb.take(s, t);
  lb.take(s, t);
  lb.take(s, t);  // two queued behind the first
  EXPECT_NEAR(static_cast<double>(lb.evictionCost(s, t)), 2e6, 1);
  EXPECT_NEAR(static_cast<double>(lb.evictionCost(s, t + 150 * kMs)), 0.5e6, 1);
  EXPECT_EQ(lb.evictionCost(s, t + 300 * kMs), 0u);
}

}  // namespace
}  // namespace sluice::ratelimit
