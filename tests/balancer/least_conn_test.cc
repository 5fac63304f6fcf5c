#include "balancer/least_conn.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/balancer/balancer_test_util.h"

namespace sluice::balancer {
namespace {

using testing::Pool;

std::string sequence(Balancer& b, int n, uint64_t exclude = 0) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    int t = b.pick(PickRequest{.exclude_mask = exclude});
    out.push_back(t < 0 ? '-' : static_cast<char>('a' + t));
  }
  return out;
}

TEST(LeastConn, PicksTheLeastLoaded) {
  Pool pool(4);
  LeastConn lc(pool.targets({1, 1, 1, 1}));
  pool.setActive(0, 3);
  pool.setActive(1, 1);
  pool.setActive(2, 4);
  pool.setActive(3, 2);
  EXPECT_EQ(lc.pick(PickRequest{}), 1);
  pool.setActive(1, 5);
  EXPECT_EQ(lc.pick(PickRequest{}), 3);
}

TEST(LeastConn, LoadIsRelativeToWeight) {
  Pool pool(2);
  LeastConn lc(pool.targets({1, 3}));
  pool.setActive(0, 2);  // 2 per unit
  pool.setActive(1, 5);  // 1.67 per unit: less loaded relative to weight
  EXPECT_EQ(lc.pick(PickRequest{}), 1);
  pool.setActive(1, 7);  // 2.33 per unit
  EXPECT_EQ(lc.pick(PickRequest{}), 0);
}

TEST(LeastConn, TiesGoRoundRobin) {
  Pool pool(3);
  LeastConn lc(pool.targets({1, 1, 1}));
  EXPECT_EQ(sequence(lc, 9), "abcabcabc");
  pool.setActive(1, 1);  // b busier: a and c alternate
  EXPECT_EQ(sequence(lc, 4), "acac");
}

TEST(LeastConn, WeightedTiesFollowSmoothRoundRobin) {
  Pool pool(3);
  LeastConn lc(pool.targets({5, 1, 1}));
  EXPECT_EQ(sequence(lc, 7), "aabacaa");  // nginx's order, as round_robin
}

TEST(LeastConn, CountsAreSharedBetweenWorkers) {
  // Two workers, two balancers over the same states: a request started through one is seen by
  // the other.
  Pool pool(2);
  LeastConn w1(pool.targets({1, 1})), w2(pool.targets({1, 1}));
  int t = w1.pick(PickRequest{});
  pool.states[static_cast<size_t>(t)]->onRequestStart();
  EXPECT_EQ(w2.pick(PickRequest{}), 1 - t);
}

TEST(LeastConn, ExcludesTheLeastLoadedOnRetry) {
  Pool pool(3);
  LeastConn lc(pool.targets({1, 1, 1}));
  pool.setActive(0, 9);
  pool.setActive(2, 5);
  EXPECT_EQ(lc.pick(PickRequest{}), 1);
  EXPECT_EQ(lc.pick(PickRequest{.exclude_mask = 0b010}), 2);
  EXPECT_EQ(lc.pick(PickRequest{.exclude_mask = 0b110}), 0);
  EXPECT_EQ(lc.pick(PickRequest{.exclude_mask = 0b111}), -1);
}

TEST(LeastConn, LargePoolTakesTheLeastLoadedOfItsWindow) {
  std::vector<uint32_t> ws(200, 100);
  Pool pool(ws.size());
  LeastConn lc(pool.targets(ws));
  for (size_t i = 0; i < ws.size(); ++i) pool.setActive(i, 10);
  // Equal loads: plain round robin, one target after the other.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(lc.pick(PickRequest{}), i);
  // A less loaded target inside the window (next slots 5..20) is taken at once...
  pool.setActive(12, 2);
  EXPECT_EQ(lc.pick(PickRequest{}), 12);
  // ...and the cursor continues after it.
  EXPECT_EQ(lc.pick(PickRequest{}), 13);
  // Busy targets in the window are skipped for the first idle one.
  pool.setActive(14, 50);
  pool.setActive(15, 50);
  pool.setActive(16, 0);
  EXPECT_EQ(lc.pick(PickRequest{}), 16);
}

TEST(LeastConn, LargePoolUnderLoadAvoidsTheSlowTarget) {
  // Target 7 never finishes its requests; the others finish after 100 picks.
  std::vector<uint32_t> ws(300, 100);
  Pool pool(ws.size());
  LeastConn lc(pool.targets(ws));
  std::vector<int> slow_picks;
  int to_slow = 0;
  std::vector<int> fifo;
  for (int i = 0; i < 30'000; ++i) {
    int t = lc.pick(PickRequest{});
    ASSERT_GE(t, 0);
    pool.states[static_cast<size_t>(t)]->onRequestStart();
    if (t == 7) {
      ++to_slow;
    } else {
      fifo.push_back(t);
    }
    if (fifo.size() > 100) {
      pool.states[static_cast<size_t>(fifo.front())]->onRequestEnd();
      fifo.erase(fifo.begin());
    }
  }
  EXPECT_LT(to_slow, 30'000 / 300 / 4);  // far below its round-robin share of 100
}

}  // namespace
}  // namespace sluice::balancer
