#include "balancer/target_override.h"

#include <gtest/gtest.h>

#include "balancer/effective_weights.h"
#include "balancer/registry.h"
#include "tests/balancer/balancer_test_util.h"

namespace sluice::balancer {
namespace {

using testing::Pool;

TEST(TargetOverride, NoneByDefault) {
  Pool pool(1);
  const TargetOverride& o = pool.states[0]->overrides;
  EXPECT_FALSE(o.drained());
  EXPECT_FALSE(o.weight());
  EXPECT_EQ(o.weightOr(7), 7u);
  EXPECT_TRUE(pool.states[0]->selectable(0));
}

TEST(TargetOverride, EachChangeBumpsTheGenerationOnce) {
  Pool pool(2);
  const uint64_t g0 = pool.upstream->generation();
  EXPECT_TRUE(setDrained(*pool.states[1], true));
  EXPECT_EQ(pool.upstream->generation(), g0 + 1);
  EXPECT_FALSE(setDrained(*pool.states[1], true));  // already drained: nothing to rebuild
  EXPECT_EQ(pool.upstream->generation(), g0 + 1);
  EXPECT_TRUE(setWeightOverride(*pool.states[0], 3));
  EXPECT_FALSE(setWeightOverride(*pool.states[0], 3));
  EXPECT_EQ(pool.upstream->generation(), g0 + 2);
  EXPECT_EQ(pool.states[0]->overrides.weight(), 3u);
  EXPECT_TRUE(setDrained(*pool.states[1], false));
  EXPECT_EQ(pool.upstream->generation(), g0 + 3);
}

TEST(TargetOverride, DrainedIsUnselectableButNotUnhealthy) {
  Pool pool(3);
  setDrained(*pool.states[1], true);
  EXPECT_TRUE(pool.states[1]->healthy());
  EXPECT_TRUE(pool.states[1]->available(0));  // sluice_upstream_target_healthy stays 1
  EXPECT_FALSE(pool.states[1]->selectable(0));
  EffectiveWeights w =
      effectiveWeights(pool.targets({1, 1, 1}), pool.upstream.get(), std::nullopt, 0);
  EXPECT_EQ(w.targets[0].weight, 100u);
  EXPECT_EQ(w.targets[1].weight, 0u);
  EXPECT_EQ(w.rebuild_at_ms, INT64_MAX);  // back by an event (enable), not by time
}

TEST(TargetOverride, EveryBalancerSkipsADrainedTarget) {
  for (const char* name : {"round_robin", "least_conn", "random_two", "consistent_hash"}) {
    Pool pool(3);
    setDrained(*pool.states[2], true);
    EffectiveWeights w =
        effectiveWeights(pool.targets({1, 1, 1}), pool.upstream.get(), std::nullopt, 0);
    auto b = makeBalancer(name, w.targets);
    ASSERT_TRUE(b) << name;
    std::vector<int> counts = testing::shares(*b, 3, 3000);
    EXPECT_EQ(counts[2], 0) << name;
    EXPECT_GT(counts[0], 0) << name;
    EXPECT_GT(counts[1], 0) << name;
  }
}

TEST(TargetOverride, ConsistentHashMovesOnlyTheDrainedTargetsKeys) {
  Pool pool(4);
  auto before = makeBalancer(
      "consistent_hash",
      effectiveWeights(pool.targets({1, 1, 1, 1}), pool.upstream.get(), std::nullopt, 0).targets);
  setDrained(*pool.states[1], true);
  auto after = makeBalancer(
      "consistent_hash",
      effectiveWeights(pool.targets({1, 1, 1, 1}), pool.upstream.get(), std::nullopt, 0).targets);
  for (int i = 0; i < 2000; ++i) {
    PickRequest r{.hash = hashKey("k" + std::to_string(i))};
    const int was = before->pick(r);
    const int now = after->pick(r);
    EXPECT_NE(now, 1);
    if (was != 1) {
      EXPECT_EQ(now, was) << i;
    }
  }
}

TEST(TargetOverride, WeightReplacesTheConfiguredOne) {
  Pool pool(2);
  setWeightOverride(*pool.states[0], 3);
  EffectiveWeights w = effectiveWeights(pool.targets({1, 1}), pool.upstream.get(), std::nullopt, 0);
  EXPECT_EQ(w.targets[0].weight, 300u);
  EXPECT_EQ(w.targets[1].weight, 100u);
  auto b = makeBalancer("round_robin", w.targets);
  std::vector<int> counts = testing::shares(*b, 2, 4000);
  EXPECT_EQ(counts[0], 3000);
  EXPECT_EQ(counts[1], 1000);
  // Weight 0 takes the target out, as a drain would, without being reported as drained.
  setWeightOverride(*pool.states[1], 0);
  w = effectiveWeights(pool.targets({1, 1}), pool.upstream.get(), std::nullopt, 0);
  EXPECT_EQ(w.targets[1].weight, 0u);
  EXPECT_FALSE(pool.states[1]->overrides.drained());
}

TEST(TargetOverride, WeightOverrideRampsWithSlowStart) {
  Pool pool(1);
  pool.states[0] = std::make_unique<TargetState>(pool.upstream, 1'000);
  setWeightOverride(*pool.states[0], 10);
  EffectiveWeights w =
      effectiveWeights(pool.targets({1}), pool.upstream.get(), config::Duration{10'000}, 6'000);
  EXPECT_GT(w.targets[0].weight, 100u);  // half-way up a ramp to 10, not to 1
  EXPECT_LT(w.targets[0].weight, 1000u);
}

TEST(TargetOverride, ClearPutsTheConfigBack) {
  Pool pool(1);
  setDrained(*pool.states[0], true);
  setWeightOverride(*pool.states[0], 5);
  const uint64_t g = pool.upstream->generation();
  EXPECT_TRUE(clearOverride(*pool.states[0]));
  EXPECT_GT(pool.upstream->generation(), g);
  EXPECT_FALSE(pool.states[0]->overrides.drained());
  EXPECT_FALSE(pool.states[0]->overrides.weight());
  EXPECT_FALSE(clearOverride(*pool.states[0]));  // nothing left to clear
}

}  // namespace
}  // namespace sluice::balancer
