#include "balancer/effective_weights.h"

#include <gtest/gtest.h>

#include <memory>

#include "balancer/registry.h"
#include "tests/balancer/balancer_test_util.h"

namespace sluice::balancer {
namespace {

using testing::Pool;

TEST(EffectiveWeights, AvailableTargetsKeepTheirWeightTimesTheUnit) {
  Pool pool(3);
  EffectiveWeights w =
      effectiveWeights(pool.targets({1, 2, 3}), pool.upstream.get(), std::nullopt, 1000);
  ASSERT_EQ(w.targets.size(), 3u);
  EXPECT_EQ(w.targets[0].weight, 100u);
  EXPECT_EQ(w.targets[2].weight, 300u);
  EXPECT_EQ(w.targets[1].state, pool.states[1].get());
  EXPECT_EQ(w.targets[1].id, hashKey(Pool::address(1)));
  EXPECT_EQ(w.generation, pool.upstream->generation());
  EXPECT_EQ(w.rebuild_at_ms, INT64_MAX);
  EXPECT_FALSE(needsRebuild(w, pool.upstream.get(), 1'000'000));
}

TEST(EffectiveWeights, UnhealthyTargetsGetZeroAndTheGenerationMoves) {
  Pool pool(3);
  config::HealthCheck hc;
  hc.unhealthy_threshold = 1;
  hc.healthy_threshold = 1;
  EffectiveWeights before =
      effectiveWeights(pool.targets({1, 1, 1}), pool.upstream.get(), std::nullopt, 0);
  EXPECT_EQ(pool.states[1]->onHealthCheck(false, 10, hc), HealthChange::BecameUnhealthy);
  EXPECT_TRUE(needsRebuild(before, pool.upstream.get(), 11));
  EffectiveWeights after =
      effectiveWeights(pool.targets({1, 1, 1}), pool.upstream.get(), std::nullopt, 11);
  EXPECT_EQ(after.targets[1].weight, 0u);
  EXPECT_FALSE(needsRebuild(after, pool.upstream.get(), 12));
  // A balancer built from it never picks target 1.
  auto b = makeBalancer("round_robin", after.targets);
  for (int i = 0; i < 10; ++i) EXPECT_NE(b->pick(PickRequest{}), 1);
}

TEST(EffectiveWeights, EjectedTargetComesBackByTime) {
  Pool pool(4);
  config::PassiveHealth ph{1, config::Duration{5000}, 50};
  EXPECT_TRUE(pool.states[2]->onPassiveFailure(100, ph, 4));
  EffectiveWeights w =
      effectiveWeights(pool.targets({1, 1, 1, 1}), pool.upstream.get(), std::nullopt, 200);
  EXPECT_EQ(w.targets[2].weight, 0u);
  EXPECT_EQ(w.rebuild_at_ms, 5100);
  EXPECT_FALSE(needsRebuild(w, pool.upstream.get(), 5099));
  EXPECT_TRUE(needsRebuild(w, pool.upstream.get(), 5100));
  EffectiveWeights back =
      effectiveWeights(pool.targets({1, 1, 1, 1}), pool.upstream.get(), std::nullopt, 5100);
  EXPECT_EQ(back.targets[2].weight, 100u);  // no slow start after an ejection
}

TEST(EffectiveWeights, RecoveredTargetRampsAndSchedulesRebuilds) {
  Pool pool(2);
  config::HealthCheck hc;
  hc.unhealthy_threshold = 1;
  hc.healthy_threshold = 2;
  const std::optional<config::Duration> ramp = config::Duration{10'000};
  pool.states[0]->onHealthCheck(false, 0, hc);
  pool.states[0]->onHealthCheck(true, 1000, hc);
  EXPECT_EQ(pool.states[0]->onHealthCheck(true, 2000, hc), HealthChange::BecameHealthy);
  EffectiveWeights w = effectiveWeights(pool.targets({1, 1}), pool.upstream.get(), ramp, 2000);
  EXPECT_EQ(w.targets[0].weight, 10u);   // a tenth at first
  EXPECT_EQ(w.targets[1].weight, 100u);  // never went away: full weight
  EXPECT_EQ(w.rebuild_at_ms, 2500);      // next twentieth of the ramp
  w = effectiveWeights(pool.targets({1, 1}), pool.upstream.get(), ramp, 7000);
  EXPECT_EQ(w.targets[0].weight, 55u);
  w = effectiveWeights(pool.targets({1, 1}), pool.upstream.get(), ramp, 12'000);
  EXPECT_EQ(w.targets[0].weight, 100u);
  EXPECT_EQ(w.rebuild_at_ms, INT64_MAX);
}

TEST(EffectiveWeights, TargetsWithoutStateAreAlwaysAvailable) {
  EffectiveWeights w = effectiveWeights(testing::weights({2, 5}), nullptr, std::nullopt, 0);
  EXPECT_EQ(w.targets[0].weight, 200u);
  EXPECT_EQ(w.targets[1].weight, 500u);
  EXPECT_EQ(w.generation, 0u);
  EXPECT_FALSE(needsRebuild(w, nullptr, 1'000'000));
}

}  // namespace
}  // namespace sluice::balancer
