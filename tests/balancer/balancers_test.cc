// Properties every registered algorithm keeps: weighted shares, exclude_mask, weight 0 and
// empty lists, for small (exact) and large (scheduled/sampled) pools.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "balancer/registry.h"
#include "tests/balancer/balancer_test_util.h"

namespace sluice::balancer {
namespace {

using testing::expectShares;
using testing::Pool;
using testing::shares;

class EveryBalancer : public ::testing::TestWithParam<const char*> {
 protected:
  std::unique_ptr<Balancer> make(const std::vector<TargetWeight>& t) {
    BalancerOptions o;
    o.seed = 12345;
    auto b = makeBalancer(GetParam(), t, o);
    EXPECT_NE(b, nullptr);
    return b;
  }
};

INSTANTIATE_TEST_SUITE_P(All, EveryBalancer,
                         ::testing::Values("round_robin", "least_conn", "random_two",
                                           "consistent_hash"));

TEST_P(EveryBalancer, IsRegistered) {
  EXPECT_TRUE(isRegisteredBalancer(GetParam()));
}

TEST_P(EveryBalancer, SharesFollowWeightsOver100kPicks) {
  const std::vector<uint32_t> ws = {1, 2, 3, 4};
  Pool pool(ws.size());
  auto b = make(pool.targets(ws));
  expectShares(shares(*b, ws.size(), 100'000), ws);
}

TEST_P(EveryBalancer, SharesFollowWeightsForTenTargets) {
  const std::vector<uint32_t> ws = {1, 1, 2, 2, 3, 3, 1, 1, 2, 4};
  Pool pool(ws.size());
  auto b = make(pool.targets(ws));
  expectShares(shares(*b, ws.size(), 100'000), ws);
}

TEST_P(EveryBalancer, SharesFollowWeightsUnderLoad) {
  // Requests stay in flight for 64 picks (FIFO): load-aware algorithms see unequal active
  // counts and must still end up with the weighted shares.
  const std::vector<uint32_t> ws = {1, 3, 2, 2};
  Pool pool(ws.size());
  auto b = make(pool.targets(ws));
  std::vector<int> counts(ws.size(), 0);
  std::deque<int> in_flight;
  for (int i = 0; i < 100'000; ++i) {
    int t = b->pick(PickRequest{.hash = hashKey("k" + std::to_string(i))});
    ASSERT_GE(t, 0);
    ++counts[static_cast<size_t>(t)];
    pool.states[static_cast<size_t>(t)]->onRequestStart();
    in_flight.push_back(t);
    if (in_flight.size() > 64) {
      pool.states[static_cast<size_t>(in_flight.front())]->onRequestEnd();
      in_flight.pop_front();
    }
  }
  expectShares(counts, ws);
}

TEST_P(EveryBalancer, LargePoolSharesFollowWeights) {
  std::vector<uint32_t> ws;
  for (int i = 0; i < 200; ++i) ws.push_back(i % 2 == 0 ? 100 : 300);  // effective weights
  Pool pool(ws.size());
  auto b = make(pool.targets(ws));
  std::vector<int> counts = shares(*b, ws.size(), 200'000);
  int even = 0, odd = 0;
  for (size_t i = 0; i < counts.size(); ++i) (i % 2 == 0 ? even : odd) += counts[i];
  EXPECT_NEAR(even / 200'000.0, 0.25, 0.02);
  EXPECT_NEAR(odd / 200'000.0, 0.75, 0.02);
}

TEST_P(EveryBalancer, ExcludeMaskIsHonoured) {
  Pool pool(5);
  auto b = make(pool.targets({1, 2, 3, 4, 5}));
  const uint64_t exclude = 0b10110;  // targets 1, 2, 4
  for (int i = 0; i < 2000; ++i) {
    int t = b->pick(PickRequest{.hash = hashKey(std::to_string(i)), .exclude_mask = exclude});
    ASSERT_TRUE(t == 0 || t == 3) << t;
  }
}

TEST_P(EveryBalancer, RetryGoesToAnotherTarget) {
  Pool pool(3);
  auto b = make(pool.targets({1, 1, 1}));
  for (int i = 0; i < 300; ++i) {
    uint64_t h = hashKey("retry-" + std::to_string(i));
    int first = b->pick(PickRequest{.hash = h});
    ASSERT_GE(first, 0);
    int second = b->pick(PickRequest{.hash = h, .exclude_mask = uint64_t{1} << first});
    ASSERT_GE(second, 0);
    EXPECT_NE(second, first);
  }
}

TEST_P(EveryBalancer, AllExcludedGivesMinusOne) {
  Pool pool(3);
  auto b = make(pool.targets({1, 2, 3}));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(b->pick(PickRequest{.hash = uint64_t(i) * 977, .exclude_mask = 0b111}), -1);
  }
  EXPECT_GE(b->pick(PickRequest{}), 0);  // and it still works afterwards
}

TEST_P(EveryBalancer, EmptyListGivesMinusOne) {
  auto b = make({});
  EXPECT_EQ(b->pick(PickRequest{}), -1);
  EXPECT_EQ(b->pick(PickRequest{.hash = 42}), -1);
}

TEST_P(EveryBalancer, ZeroWeightTargetsAreNeverPicked) {
  Pool pool(4);
  auto b = make(pool.targets({0, 2, 0, 1}));
  for (int i = 0; i < 3000; ++i) {
    int t = b->pick(PickRequest{.hash = hashKey(std::to_string(i))});
    ASSERT_TRUE(t == 1 || t == 3) << t;
  }
  auto none = make(pool.targets({0, 0, 0}));
  EXPECT_EQ(none->pick(PickRequest{}), -1);
  // The only available target excluded: nothing left.
  EXPECT_EQ(b->pick(PickRequest{.exclude_mask = 0b1010}), -1);
}

TEST_P(EveryBalancer, SingleTarget) {
  Pool pool(1);
  auto b = make(pool.targets({7}));
  EXPECT_EQ(b->pick(PickRequest{.hash = 5}), 0);
  EXPECT_EQ(b->pick(PickRequest{.hash = 5, .exclude_mask = 1}), -1);
  EXPECT_EQ(b->pick(PickRequest{.hash = 5, .exclude_mask = 0b10}), 0);
}

TEST_P(EveryBalancer, LargePoolHonoursExcludeAndReachesHighIndexes) {
  std::vector<uint32_t> ws(1000, 100);
  Pool pool(ws.size());
  auto b = make(pool.targets(ws));
  const uint64_t exclude = ~uint64_t{0};  // every target below 64
  bool high = false;
  for (int i = 0; i < 5000; ++i) {
    int t = b->pick(PickRequest{.hash = hashKey(std::to_string(i)), .exclude_mask = exclude});
    ASSERT_GE(t, 64);
    ASSERT_LT(t, 1000);
    high = true;
  }
  EXPECT_TRUE(high);
  // Only targets below 64 available and all excluded: -1.
  std::vector<uint32_t> low(1000, 0);
  for (int i = 0; i < 64; ++i) low[static_cast<size_t>(i)] = 100;
  auto c = make(pool.targets(low));
  EXPECT_EQ(c->pick(PickRequest{.hash = 1, .exclude_mask = exclude}), -1);
}

TEST(BalancerRegistry, AllFourNames) {
  for (const char* n : {"round_robin", "least_conn", "random_two", "consistent_hash"}) {
    EXPECT_TRUE(isRegisteredBalancer(n)) << n;
  }
  EXPECT_FALSE(isRegisteredBalancer("least_connections"));
  EXPECT_EQ(makeBalancer("maglev", testing::weights({1})), nullptr);
}

}  // namespace
}  // namespace sluice::balancer
