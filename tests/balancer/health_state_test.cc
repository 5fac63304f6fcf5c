#include "balancer/health_state.h"

#include <gtest/gtest.h>

#include "balancer/hash.h"

namespace sluice::balancer {
namespace {

config::HealthCheck thresholds(uint32_t healthy, uint32_t unhealthy) {
  config::HealthCheck c;
  c.healthy_threshold = healthy;
  c.unhealthy_threshold = unhealthy;
  return c;
}

TEST(HealthState, StartsHealthy) {
  HealthState h;
  EXPECT_TRUE(h.healthy());
}

TEST(HealthState, UnhealthyAfterThresholdFailuresInARow) {
  HealthState h;
  auto cfg = thresholds(2, 3);
  EXPECT_EQ(h.onCheck(false, cfg), HealthChange::None);
  EXPECT_EQ(h.onCheck(false, cfg), HealthChange::None);
  EXPECT_EQ(h.onCheck(true, cfg), HealthChange::None);  // breaks the run
  EXPECT_EQ(h.onCheck(false, cfg), HealthChange::None);
  EXPECT_EQ(h.onCheck(false, cfg), HealthChange::None);
  EXPECT_TRUE(h.healthy());
  EXPECT_EQ(h.onCheck(false, cfg), HealthChange::BecameUnhealthy);
  EXPECT_FALSE(h.healthy());
  EXPECT_EQ(h.onCheck(false, cfg), HealthChange::None);  // reported once
}

TEST(HealthState, HealthyAgainAfterThresholdPassesInARow) {
  HealthState h(false);
  auto cfg = thresholds(2, 3);
  EXPECT_EQ(h.onCheck(true, cfg), HealthChange::None);
  EXPECT_EQ(h.onCheck(false, cfg), HealthChange::None);
  EXPECT_EQ(h.onCheck(true, cfg), HealthChange::None);
  EXPECT_EQ(h.onCheck(true, cfg), HealthChange::BecameHealthy);
  EXPECT_TRUE(h.healthy());
  EXPECT_EQ(h.consecutivePasses(), 2u);
}

TEST(HealthState, ZeroThresholdsActAsOne) {
  HealthState h;
  auto cfg = thresholds(0, 0);
  EXPECT_EQ(h.onCheck(false, cfg), HealthChange::BecameUnhealthy);
  EXPECT_EQ(h.onCheck(true, cfg), HealthChange::BecameHealthy);
}

TEST(JitteredInterval, StaysWithinTenPercentAndSpreads) {
  SplitMix64 rng(9);
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 10'000; ++i) {
    int64_t d = jitteredInterval(config::Duration{5000}, rng.next()).count();
    ASSERT_GE(d, 4500);
    ASSERT_LE(d, 5500);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 4550);
  EXPECT_GT(hi, 5450);
  EXPECT_EQ(jitteredInterval(config::Duration{5000}, 500).count(), 5000);  // 500 % 1001 - 500
  EXPECT_EQ(jitteredInterval(config::Duration{5}, 123).count(), 5);        // too short to jitter
  EXPECT_EQ(jitteredInterval(config::Duration{0}, 123).count(), 1);
}

}  // namespace
}  // namespace sluice::balancer
