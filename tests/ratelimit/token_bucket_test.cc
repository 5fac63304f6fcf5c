#include "ratelimit/token_bucket.h"

#include <gtest/gtest.h>

namespace sluice::ratelimit {
namespace {

constexpr Nanos kMs = 1'000'000;

TEST(TokenBucket, BurstThenOnePerInterval) {
  TokenBucket tb(10, kSecond, 3);  // 10/s, burst 3: one token per 100 ms
  TokenBucket::State s;
  Nanos t = 1000 * kMs;
  EXPECT_TRUE(tb.take(s, t).allowed);
  EXPECT_TRUE(tb.take(s, t).allowed);
  Decision last = tb.take(s, t);
  EXPECT_TRUE(last.allowed);
  EXPECT_EQ(last.remaining, 0u);
  Decision denied = tb.take(s, t);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retry_after, 100 * kMs);
  // One nanosecond before the refill edge: still denied; at the edge: allowed.
  EXPECT_FALSE(tb.take(s, t + 100 * kMs - 1).allowed);
  EXPECT_TRUE(tb.take(s, t + 100 * kMs).allowed);
  EXPECT_FALSE(tb.take(s, t + 100 * kMs).allowed);
}

TEST(TokenBucket, RefillsToBurstAndNoFurther) {
  TokenBucket tb(10, kSecond, 3);
  TokenBucket::State s;
  Nanos t = 5 * kSecond;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(tb.take(s, t).allowed);
  ASSERT_FALSE(tb.take(s, t).allowed);
  t += 10 * kSecond;  // far more than the burst's worth of refill
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(tb.take(s, t).allowed) << i;
  EXPECT_FALSE(tb.take(s, t).allowed);
}

TEST(TokenBucket, RemainingAndReset) {
  TokenBucket tb(1, kSecond, 5);
  TokenBucket::State s;
  Decision d = tb.take(s, 100 * kSecond);
  EXPECT_EQ(d.remaining, 4u);
  EXPECT_EQ(d.reset, kSecond);  // one token to refill
  d = tb.take(s, 100 * kSecond);
  EXPECT_EQ(d.remaining, 3u);
  EXPECT_EQ(d.reset, 2 * kSecond);
}

TEST(TokenBucket, SteadyRateOverALongRun) {
  TokenBucket tb(50, kSecond, 50);
  TokenBucket::State s;
  int allowed = 0;
  for (Nanos t = kSecond; t < 11 * kSecond; t += 5 * kMs) allowed += tb.take(s, t).allowed;
  EXPECT_EQ(allowed, 50 + 500 - 1);  // burst + rate * (10 s - one step)
}

TEST(TokenBucket, EvictionCostIsTheDebtAndZeroOnceFull) {
  TokenBucket tb(10, kSecond, 3);
  TokenBucket::State s;
  Nanos t = 1000 * kMs;
  EXPECT_EQ(tb.evictionCost(s, t), 0u);
  tb.take(s, t);
  tb.take(s, t);
  EXPECT_EQ(tb.evictionCost(s, t), static_cast<uint64_t>(200 * kMs));
  EXPECT_EQ(tb.evictionCost(s, t + 150 * kMs), static_cast<uint64_t>(50 * kMs));
  EXPECT_EQ(tb.evictionCost(s, t + 200 * kMs), 0u);
}

}  // namespace
}  // namespace sluice::ratelimit
