#include "balancer/ejection.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::balancer {
namespace {

config::PassiveHealth passive(uint32_t failures, int64_t base_ms, uint32_t max_percent = 50) {
  return config::PassiveHealth{failures, config::Duration{base_ms}, max_percent};
}

TEST(Ejection, ConsecutiveFailuresEject) {
  EjectionPool pool;
  Ejection e;
  auto cfg = passive(3, 1000);
  EXPECT_FALSE(e.onFailure(0, cfg, pool, 4));
  EXPECT_FALSE(e.onFailure(1, cfg, pool, 4));
  e.onSuccess();  // resets the run
  EXPECT_FALSE(e.onFailure(2, cfg, pool, 4));
  EXPECT_FALSE(e.onFailure(3, cfg, pool, 4));
  EXPECT_FALSE(e.ejected(4));
  auto until = e.onFailure(4, cfg, pool, 4);
  ASSERT_TRUE(until);
  EXPECT_EQ(*until, 1004);
  EXPECT_TRUE(e.ejected(1003));
  EXPECT_FALSE(e.ejected(1004));
  EXPECT_EQ(e.timesEjected(), 1u);
  EXPECT_EQ(pool.ejectedCount(500), 1u);
  EXPECT_EQ(pool.ejectedCount(1004), 0u);
}

TEST(Ejection, FailuresWhileEjectedAreIgnored) {
  EjectionPool pool;
  Ejection e;
  auto cfg = passive(1, 1000);
  ASSERT_TRUE(e.onFailure(0, cfg, pool, 4));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(e.onFailure(10 + i, cfg, pool, 4));
  EXPECT_EQ(e.ejectedUntil(), 1000);
  EXPECT_EQ(e.consecutiveFailures(), 0u);
}

TEST(Ejection, RepeatedEjectionsDoubleUpToTheCap) {
  EjectionPool pool;
  Ejection e;
  auto cfg = passive(1, 30'000);
  int64_t now = 0;
  std::vector<int64_t> durations;
  for (int i = 0; i < 6; ++i) {
    auto until = e.onFailure(now, cfg, pool, 2);
    ASSERT_TRUE(until);
    durations.push_back(*until - now);
    now = *until + 1000;  // fails again soon after coming back
  }
  EXPECT_EQ(durations, (std::vector<int64_t>{30'000, 60'000, 120'000, 240'000, 300'000, 300'000}));
  EXPECT_EQ(e.timesEjected(), 6u);
}

TEST(Ejection, TimesEjectedResetAfterBehavingForACapPeriod) {
  EjectionPool pool;
  Ejection e;
  auto cfg = passive(1, 10'000);
  auto u1 = e.onFailure(0, cfg, pool, 2);
  auto u2 = e.onFailure(*u1, cfg, pool, 2);
  EXPECT_EQ(*u2 - *u1, 20'000);
  // Healthy for kMaxEjection after the last ejection ended: back to base_ejection.
  int64_t later = *u2 + kMaxEjection.count();
  auto u3 = e.onFailure(later, cfg, pool, 2);
  EXPECT_EQ(*u3 - later, 10'000);
  EXPECT_EQ(e.timesEjected(), 1u);
}

TEST(Ejection, NeverMoreThanMaxEjectionPercent) {
  EjectionPool pool;
  std::vector<Ejection> targets(10);
  auto cfg = passive(1, 1000, 30);  // 3 of 10
  int ejected = 0;
  for (Ejection& e : targets) ejected += e.onFailure(0, cfg, pool, targets.size()).has_value();
  EXPECT_EQ(ejected, 3);
  EXPECT_EQ(pool.ejectedCount(0), 3u);
  // A refused target stays at its threshold: its next failure ejects it once room is made.
  EXPECT_FALSE(targets[5].ejected(0));
  EXPECT_FALSE(targets[5].onFailure(500, cfg, pool, targets.size()));
  EXPECT_TRUE(targets[5].onFailure(1000, cfg, pool, targets.size()));  // the first 3 are back
  EXPECT_EQ(pool.ejectedCount(1000), 1u);
}

TEST(Ejection, OneTargetMayAlwaysBeEjectedButZeroPercentDisables) {
  EjectionPool pool;
  Ejection only;
  EXPECT_TRUE(only.onFailure(0, passive(1, 1000, 50), pool, 1));  // 50% of 1 rounds up to one
  EjectionPool pool2;
  Ejection e;
  EXPECT_FALSE(e.onFailure(0, passive(1, 1000, 0), pool2, 10));
  EXPECT_FALSE(e.ejected(0));
}

TEST(Ejection, ZeroConsecutiveFailuresNeverEjects) {
  EjectionPool pool;
  Ejection e;
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(e.onFailure(i, passive(0, 1000), pool, 2));
}

}  // namespace
}  // namespace sluice::balancer
