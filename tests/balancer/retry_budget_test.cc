#include "balancer/retry_budget.h"

#include <gtest/gtest.h>

namespace sluice::balancer {
namespace {

constexpr int64_t kFloor = RetryBudget::kMinRetriesPerSecond * RetryBudget::kWindowSeconds;

TEST(RetryBudget, ShareOfRequestsInTheWindowPlusTheFloor) {
  RetryBudget b;
  for (int i = 0; i < 1000; ++i) b.onRequest(5'000);
  EXPECT_EQ(b.limit(5'000, 0.2), 200 + kFloor);
  for (int64_t i = 0; i < 200 + kFloor; ++i) EXPECT_TRUE(b.tryAcquire(5'500, 0.2)) << i;
  EXPECT_FALSE(b.tryAcquire(5'900, 0.2));
  EXPECT_EQ(b.retries(5'900), 200 + kFloor);
}

TEST(RetryBudget, ABurstIsPaidForByTheTrafficBefore) {
  // 30 retries at once (a target died under 64 connections) after a busy second: all allowed,
  // which a count of retries in flight (20% of 64 active) would not.
  RetryBudget b;
  for (int i = 0; i < 20'000; ++i) b.onRequest(1'000 + i / 20);
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(b.tryAcquire(2'000, 0.2));
}

TEST(RetryBudget, AStormStaysNearTheShare) {
  // Every try fails and asks for a retry: over 30 s at 1,000 requests a second, the retries
  // allowed are 20% of the requests plus the floor, not one per request.
  RetryBudget b;
  int64_t allowed = 0, asked = 0;
  for (int64_t ms = 0; ms < 30'000; ++ms) {
    b.onRequest(ms);
    ++asked;
    allowed += b.tryAcquire(ms, 0.2);
  }
  double ratio = static_cast<double>(allowed) / static_cast<double>(asked);
  EXPECT_GT(ratio, 0.2);
  EXPECT_LT(ratio, 0.2 + 0.02);
}

TEST(RetryBudget, OldSecondsLeaveTheWindow) {
  RetryBudget b;
  for (int i = 0; i < 100; ++i) b.onRequest(0);
  for (int64_t i = 0; i < 20 + kFloor; ++i) EXPECT_TRUE(b.tryAcquire(500, 0.2));
  EXPECT_FALSE(b.tryAcquire(900, 0.2));
  // Ten seconds later the first second's requests and retries are gone: only the floor is left.
  EXPECT_EQ(b.requests(10'000), 0);
  EXPECT_EQ(b.retries(10'000), 0);
  EXPECT_EQ(b.limit(10'000, 0.2), kFloor);
  EXPECT_TRUE(b.tryAcquire(10'000, 0.2));
}

TEST(RetryBudget, ZeroBudgetKeepsOnlyTheFloor) {
  RetryBudget b;
  for (int i = 0; i < 1000; ++i) b.onRequest(0);
  EXPECT_EQ(b.limit(0, 0.0), kFloor);
  EXPECT_EQ(b.limit(0, -1.0), kFloor);
  EXPECT_EQ(b.limit(0, 1.0), 1000 + kFloor);
}

}  // namespace
}  // namespace sluice::balancer
