#include "balancer/random_two.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/balancer/balancer_test_util.h"

namespace sluice::balancer {
namespace {

using testing::Pool;

TEST(RandomTwo, SameSeedSamePicks) {
  Pool pool(10);
  RandomTwo a(pool.targets({1, 2, 3, 4, 5, 1, 2, 3, 4, 5}), 7);
  RandomTwo b(pool.targets({1, 2, 3, 4, 5, 1, 2, 3, 4, 5}), 7);
  RandomTwo c(pool.targets({1, 2, 3, 4, 5, 1, 2, 3, 4, 5}), 8);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    int x = a.pick(PickRequest{});
    EXPECT_EQ(x, b.pick(PickRequest{}));
    differ += x != c.pick(PickRequest{});
  }
  EXPECT_GT(differ, 10);
}

TEST(RandomTwo, PrefersTheLessLoadedOfTwo) {
  Pool pool(2);
  RandomTwo r(pool.targets({1, 1}), 1);
  pool.setActive(0, 5);
  pool.setActive(1, 2);
  // Both samples hit target 0 a quarter of the time; otherwise target 1 wins the comparison.
  int ones = 0;
  for (int i = 0; i < 10'000; ++i) ones += r.pick(PickRequest{}) == 1;
  EXPECT_NEAR(ones / 10'000.0, 0.75, 0.02);
}

TEST(RandomTwo, NeverPicksTheMostLoadedOfManyUnlessSampledTwice) {
  std::vector<uint32_t> ws(100, 1);
  Pool pool(ws.size());
  RandomTwo r(pool.targets(ws), 3);
  pool.setActive(42, 100);  // the most loaded: wins only if both samples are 42
  int hits = 0;
  for (int i = 0; i < 100'000; ++i) hits += r.pick(PickRequest{}) == 42;
  EXPECT_LT(hits, 40);  // expected 100'000 / 100^2 = 10
}

TEST(RandomTwo, LoadIsRelativeToWeight) {
  Pool pool(2);
  RandomTwo r(pool.targets({1, 4}), 5);
  pool.setActive(0, 1);  // 1 per unit
  pool.setActive(1, 3);  // 0.75 per unit: wins every mixed pair
  int ones = 0;
  const int n = 20'000;
  for (int i = 0; i < n; ++i) ones += r.pick(PickRequest{}) == 1;
  // P(pick 0) = P(both samples 0) = 0.2^2 = 0.04.
  EXPECT_NEAR(ones / static_cast<double>(n), 0.96, 0.01);
}

}  // namespace
}  // namespace sluice::balancer
