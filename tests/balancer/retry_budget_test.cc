#include "balancer/retry_budget.h"

#include <gtest/gtest.h>

namespace sluice::balancer {
namespace {

TEST(RetryBudget, ShareOfActiveRequests) {
  RetryBudget b;
  EXPECT_EQ(RetryBudget::limit(100, 0.2), 20);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(b.tryAcquire(100, 0.2));
  EXPECT_FALSE(b.tryAcquire(100, 0.2));
  b.release();
  EXPECT_TRUE(b.tryAcquire(100, 0.2));
  EXPECT_EQ(b.inFlight(), 20);
}

TEST(RetryBudget, LowTrafficStillRetriesUpToTheFloor) {
  RetryBudget b;
  EXPECT_EQ(RetryBudget::limit(2, 0.2), RetryBudget::kMinConcurrentRetries);
  EXPECT_EQ(RetryBudget::limit(0, 0.2), 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.tryAcquire(1, 0.2));
  EXPECT_FALSE(b.tryAcquire(1, 0.2));
}

TEST(RetryBudget, ZeroBudgetKeepsOnlyTheFloor) {
  EXPECT_EQ(RetryBudget::limit(1000, 0.0), 3);
  EXPECT_EQ(RetryBudget::limit(1000, -1.0), 3);
  EXPECT_EQ(RetryBudget::limit(1000, 1.0), 1000);
}

}  // namespace
}  // namespace sluice::balancer
