#include "balancer/slow_start.h"

#include <gtest/gtest.h>

#include <limits>

namespace sluice::balancer {
namespace {

constexpr config::Duration kThirtySeconds{30'000};

TEST(SlowStart, LinearRampFromATenthToTheFullWeight) {
  EXPECT_EQ(effectiveWeight(3, 1000, kThirtySeconds, 1000), 30u);            // 300 x 0.1
  EXPECT_EQ(effectiveWeight(3, 1000, kThirtySeconds, 1000 + 10'000), 120u);  // x 0.4
  EXPECT_EQ(effectiveWeight(3, 1000, kThirtySeconds, 1000 + 15'000), 165u);  // x 0.55
  EXPECT_EQ(effectiveWeight(3, 1000, kThirtySeconds, 1000 + 29'999), 299u);
  EXPECT_EQ(effectiveWeight(3, 1000, kThirtySeconds, 1000 + 30'000), 300u);
  EXPECT_EQ(effectiveWeight(3, 1000, kThirtySeconds, 1'000'000), 300u);
}

TEST(SlowStart, RampIsMonotonic) {
  uint32_t last = 0;
  for (int64_t t = 0; t <= 30'000; t += 250) {
    uint32_t w = effectiveWeight(1, 0, kThirtySeconds, t);
    EXPECT_GE(w, last);
    EXPECT_GE(w, 10u);
    last = w;
  }
  EXPECT_EQ(last, kWeightUnit);
}

TEST(SlowStart, NoRampWithoutSlowStartOrForOldTargets) {
  EXPECT_EQ(effectiveWeight(2, 5000, std::nullopt, 5000), 200u);
  EXPECT_EQ(effectiveWeight(2, 5000, config::Duration{0}, 5000), 200u);
  EXPECT_EQ(effectiveWeight(2, std::numeric_limits<int64_t>::min() / 4, kThirtySeconds, 0), 200u);
  EXPECT_EQ(effectiveWeight(2, 9000, kThirtySeconds, 5000), 200u);  // clock before ready_since
  EXPECT_EQ(effectiveWeight(0, 0, kThirtySeconds, 10), 0u);
  EXPECT_EQ(effectiveWeight(1'000'000, 0, std::nullopt, 0), 100'000'000u);
}

TEST(SlowStart, NextRampStepEveryTwentiethAndAtTheEnd) {
  EXPECT_EQ(nextRampStep(0, kThirtySeconds, 0), 1500);
  EXPECT_EQ(nextRampStep(0, kThirtySeconds, 29'000), 30'000);
  EXPECT_EQ(nextRampStep(0, kThirtySeconds, 30'000), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(nextRampStep(0, config::Duration{1000}, 0), 100);  // not more often than 100 ms
  EXPECT_EQ(nextRampStep(0, std::nullopt, 0), std::numeric_limits<int64_t>::max());
}

}  // namespace
}  // namespace sluice::balancer
