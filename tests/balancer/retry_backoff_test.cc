#include "balancer/retry_backoff.h"

#include <gtest/gtest.h>

#include <limits>

namespace sluice::balancer {
namespace {

using config::Duration;
using config::RetryBackoff;

constexpr uint64_t kTop = std::numeric_limits<uint64_t>::max();

TEST(RetryBackoff, CapDoublesFromBaseUpToMax) {
  RetryBackoff b{Duration{25}, Duration{250}};
  EXPECT_EQ(backoffCapMs(b, 0), 25);  // 0 acts as the first retry
  EXPECT_EQ(backoffCapMs(b, 1), 25);
  EXPECT_EQ(backoffCapMs(b, 2), 50);
  EXPECT_EQ(backoffCapMs(b, 3), 100);
  EXPECT_EQ(backoffCapMs(b, 4), 200);
  EXPECT_EQ(backoffCapMs(b, 5), 250);
  EXPECT_EQ(backoffCapMs(b, 64), 250);
  EXPECT_EQ(backoffCapMs(b, 4'000'000'000u), 250);
}

TEST(RetryBackoff, CapDoesNotOverflow) {
  RetryBackoff huge{Duration{std::numeric_limits<int64_t>::max() / 2},
                    Duration{std::numeric_limits<int64_t>::max()}};
  EXPECT_EQ(backoffCapMs(huge, 2), std::numeric_limits<int64_t>::max() - 1);
  EXPECT_EQ(backoffCapMs(huge, 3), std::numeric_limits<int64_t>::max());
  RetryBackoff zero{Duration{0}, Duration{0}};
  EXPECT_EQ(backoffCapMs(zero, 3), 0);
  EXPECT_EQ(backoffDelayMs(zero, 3, kTop), 0);
}

TEST(RetryBackoff, FullJitterCoversZeroToTheCap) {
  RetryBackoff b{Duration{25}, Duration{250}};
  EXPECT_EQ(backoffDelayMs(b, 1, 0), 0);
  EXPECT_EQ(backoffDelayMs(b, 1, 25), 25);  // both ends included: 26 values
  EXPECT_EQ(backoffDelayMs(b, 1, 26), 0);
  EXPECT_EQ(backoffDelayMs(b, 3, 77), 77);
  EXPECT_EQ(backoffDelayMs(b, 3, 101), 0);
  EXPECT_EQ(backoffDelayMs(b, 9, 250), 250);
  // Whatever the random value, the wait stays within [0, cap].
  for (uint64_t r : {uint64_t{0}, uint64_t{1}, kTop, kTop / 3, uint64_t{0x9E3779B97F4A7C15}}) {
    for (uint32_t n = 1; n <= 8; ++n) {
      int64_t d = backoffDelayMs(b, n, r);
      EXPECT_GE(d, 0);
      EXPECT_LE(d, backoffCapMs(b, n)) << n;
    }
  }
}

TEST(RetryBackoff, JitterIsSpreadOverTheRange) {
  // A simple generator's values land in every tenth of [0, 100].
  RetryBackoff b{Duration{100}, Duration{100}};
  int buckets[11] = {};
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 10'000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ++buckets[backoffDelayMs(b, 1, x) / 10];
  }
  for (int i = 0; i < 10; ++i) EXPECT_GT(buckets[i], 700) << i;
}

TEST(RetryBackoff, DeltaSeconds) {
  EXPECT_EQ(parseDeltaSecondsMs("0"), 0);
  EXPECT_EQ(parseDeltaSecondsMs("2"), 2'000);
  EXPECT_EQ(parseDeltaSecondsMs(" 120 "), 120'000);
  EXPECT_EQ(parseDeltaSecondsMs("99999999999999999999999"), kMaxRetryAfterMs / 1000 * 1000);
  EXPECT_FALSE(parseDeltaSecondsMs(""));
  EXPECT_FALSE(parseDeltaSecondsMs("-1"));
  EXPECT_FALSE(parseDeltaSecondsMs("1.5"));
  EXPECT_FALSE(parseDeltaSecondsMs("2s"));
  EXPECT_FALSE(parseDeltaSecondsMs("Wed, 21 Oct 2015 07:28:00 GMT"));
}

TEST(RetryBackoff, PlanUsesJitterWithoutRetryAfter) {
  RetryBackoff b{Duration{25}, Duration{250}};
  RetryPlan p = planRetry(b, 2, 40, std::nullopt, 1'000);
  EXPECT_TRUE(p.retry);
  EXPECT_EQ(p.wait_ms, 40);
  EXPECT_FALSE(p.honoured);
}

TEST(RetryBackoff, PlanHonoursRetryAfterThatFits) {
  RetryBackoff b{Duration{25}, Duration{250}};
  RetryPlan p = planRetry(b, 1, 7, 1'000, 1'500);
  EXPECT_TRUE(p.retry);
  EXPECT_EQ(p.wait_ms, 1'000);  // longer than max: the server's word wins
  EXPECT_TRUE(p.honoured);
  p = planRetry(b, 1, 7, 0, 1'500);
  EXPECT_TRUE(p.retry);
  EXPECT_EQ(p.wait_ms, 0);
}

TEST(RetryBackoff, PlanRefusesAWaitPastTheDeadline) {
  RetryBackoff b{Duration{25}, Duration{250}};
  EXPECT_FALSE(planRetry(b, 1, 7, 2'000, 1'500).retry);
  EXPECT_FALSE(planRetry(b, 1, 7, 1'500, 1'500).retry);  // would start exactly at the deadline
  EXPECT_FALSE(planRetry(b, 4, 150, std::nullopt, 100).retry);
  EXPECT_FALSE(planRetry(b, 1, 0, std::nullopt, 0).retry);  // no time left at all
}

}  // namespace
}  // namespace sluice::balancer
