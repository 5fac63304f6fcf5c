#include "balancer/target_state.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

namespace sluice::balancer {
namespace {

TEST(TargetState, ActiveCountsPerTargetAndUpstream) {
  auto up = std::make_shared<UpstreamState>();
  TargetState a(up, 0), b(up, 0);
  a.onRequestStart();
  a.onRequestStart();
  b.onRequestStart();
  EXPECT_EQ(a.active(), 2);
  EXPECT_EQ(b.active(), 1);
  EXPECT_EQ(up->active(), 3);
  a.onRequestEnd();
  EXPECT_EQ(up->active(), 2);
}

TEST(TargetState, ActiveCountsAreExactAcrossThreads) {
  auto up = std::make_shared<UpstreamState>();
  TargetState t(up, 0);
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) t.onRequestStart();
      for (int i = 0; i < 9'000; ++i) t.onRequestEnd();
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(t.active(), 4'000);
  EXPECT_EQ(up->active(), 4'000);
}

TEST(TargetState, HealthFlipsBumpTheGenerationAndRestartSlowStart) {
  auto up = std::make_shared<UpstreamState>();
  TargetState t(up, TargetState::kReadyLongAgo);
  config::HealthCheck hc;
  hc.healthy_threshold = 2;
  hc.unhealthy_threshold = 2;
  uint64_t g0 = up->generation();
  EXPECT_TRUE(t.healthy());
  EXPECT_EQ(t.onHealthCheck(false, 10, hc), HealthChange::None);
  EXPECT_EQ(up->generation(), g0);
  EXPECT_EQ(t.onHealthCheck(false, 20, hc), HealthChange::BecameUnhealthy);
  EXPECT_FALSE(t.healthy());
  EXPECT_FALSE(t.available(20));
  uint64_t g1 = up->generation();
  EXPECT_NE(g1, g0);
  t.onHealthCheck(true, 30, hc);
  EXPECT_EQ(t.onHealthCheck(true, 40, hc), HealthChange::BecameHealthy);
  EXPECT_NE(up->generation(), g1);
  EXPECT_EQ(t.readySince(), 40);
  EXPECT_TRUE(t.available(40));
}

TEST(TargetState, PassiveEjectionBumpsTheGenerationAndUsesTheUpstreamPool) {
  auto up = std::make_shared<UpstreamState>();
  TargetState a(up, 0), b(up, 0);
  config::PassiveHealth ph{2, config::Duration{1000}, 50};
  uint64_t g0 = up->generation();
  EXPECT_FALSE(a.onPassiveFailure(0, ph, 2));
  a.onPassiveSuccess();
  EXPECT_FALSE(a.onPassiveFailure(1, ph, 2));
  EXPECT_TRUE(a.onPassiveFailure(2, ph, 2));
  EXPECT_NE(up->generation(), g0);
  EXPECT_FALSE(a.available(500));
  EXPECT_EQ(a.ejectedUntil(), 1002);
  // 50% of 2: b may not be ejected while a is.
  EXPECT_FALSE(b.onPassiveFailure(10, ph, 2));
  EXPECT_FALSE(b.onPassiveFailure(11, ph, 2));
  EXPECT_TRUE(b.available(11));
  EXPECT_EQ(up->ejections.ejectedCount(11), 1u);
}

}  // namespace
}  // namespace sluice::balancer
