#include "balancer/circuit_breaker.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace sluice::balancer {
namespace {

using Kind = CircuitTicket::Kind;

config::CircuitBreaker consecutive(uint32_t n, int64_t open_for_ms, uint32_t half_open = 1) {
  config::CircuitBreaker c;
  c.consecutive_failures = n;
  c.open_for = config::Duration{open_for_ms};
  c.half_open_requests = half_open;
  return c;
}

TEST(CircuitBreaker, OpensAfterConsecutiveFailures) {
  CircuitBreaker b;
  auto cfg = consecutive(3, 1000);
  for (int i = 0; i < 2; ++i) b.onFailure(0, cfg, b.allow(0, cfg));
  EXPECT_EQ(b.state(0, cfg), CircuitState::Closed);
  b.onSuccess(0, cfg, b.allow(0, cfg));  // a success resets the run
  for (int i = 0; i < 2; ++i) b.onFailure(1, cfg, b.allow(1, cfg));
  EXPECT_EQ(b.state(1, cfg), CircuitState::Closed);
  b.onFailure(2, cfg, b.allow(2, cfg));
  EXPECT_EQ(b.state(2, cfg), CircuitState::Open);
  EXPECT_FALSE(b.allow(3, cfg));
  EXPECT_FALSE(b.allow(1001, cfg));  // open_for counts from the opening at t=2
}

TEST(CircuitBreaker, HalfOpenLetsProbesThroughAndASuccessCloses) {
  CircuitBreaker b;
  auto cfg = consecutive(1, 1000, /*half_open=*/2);
  b.onFailure(0, cfg, b.allow(0, cfg));
  EXPECT_EQ(b.state(999, cfg), CircuitState::Open);
  EXPECT_EQ(b.state(1000, cfg), CircuitState::HalfOpen);
  CircuitTicket p1 = b.allow(1000, cfg), p2 = b.allow(1000, cfg), p3 = b.allow(1000, cfg);
  EXPECT_EQ(p1.kind, Kind::Probe);
  EXPECT_EQ(p2.kind, Kind::Probe);
  EXPECT_FALSE(p3);  // at most half_open_requests in flight
  b.onAbandon(p2);   // a probe without a verdict frees its slot
  CircuitTicket p4 = b.allow(1001, cfg);
  EXPECT_EQ(p4.kind, Kind::Probe);
  b.onSuccess(1002, cfg, p1);
  EXPECT_EQ(b.state(1002, cfg), CircuitState::Closed);
  EXPECT_EQ(b.allow(1002, cfg).kind, Kind::Normal);
  b.onFailure(1003, cfg, p4);  // a stale probe of the closed period changes nothing
  EXPECT_EQ(b.state(1003, cfg), CircuitState::Closed);
}

TEST(CircuitBreaker, ProbeFailureReopens) {
  CircuitBreaker b;
  auto cfg = consecutive(2, 500);
  b.onFailure(0, cfg, b.allow(0, cfg));
  b.onFailure(0, cfg, b.allow(0, cfg));
  CircuitTicket probe = b.allow(500, cfg);
  ASSERT_EQ(probe.kind, Kind::Probe);
  b.onFailure(600, cfg, probe);
  EXPECT_EQ(b.state(600, cfg), CircuitState::Open);
  EXPECT_FALSE(b.allow(1099, cfg));  // open again for open_for from t=600
  EXPECT_EQ(b.allow(1100, cfg).kind, Kind::Probe);
}

// The status page's event list hears of each change once: from the failure that opened, the
// first probe of the period, the probe that closed or reopened.
TEST(CircuitBreaker, ReportsEachChangeOnceToItsCaller) {
  CircuitBreaker b;
  auto cfg = consecutive(2, 500, /*half_open=*/2);
  CircuitTicket t1 = b.allow(0, cfg), t2 = b.allow(0, cfg);
  EXPECT_FALSE(t1.first_probe);
  EXPECT_EQ(b.onFailure(0, cfg, t1), CircuitChange::None);
  EXPECT_EQ(b.onFailure(0, cfg, t2), CircuitChange::Opened);
  CircuitTicket p1 = b.allow(500, cfg), p2 = b.allow(500, cfg);
  EXPECT_TRUE(p1.first_probe);
  EXPECT_FALSE(p2.first_probe);
  EXPECT_EQ(b.onFailure(510, cfg, p1), CircuitChange::Opened);  // reopened
  EXPECT_EQ(b.onFailure(510, cfg, p2), CircuitChange::None);    // a stale probe
  CircuitTicket p3 = b.allow(1010, cfg);
  EXPECT_TRUE(p3.first_probe);  // a new open period: half-open again
  EXPECT_EQ(b.onSuccess(1020, cfg, p3), CircuitChange::Closed);
  EXPECT_EQ(b.onSuccess(1020, cfg, b.allow(1020, cfg)), CircuitChange::None);
}

TEST(CircuitBreaker, LateResultsOfAnEarlierPeriodAreIgnored) {
  CircuitBreaker b;
  auto cfg = consecutive(2, 100);
  CircuitTicket early = b.allow(0, cfg);  // admitted while closed, still in flight
  b.onFailure(1, cfg, b.allow(1, cfg));
  b.onFailure(2, cfg, b.allow(2, cfg));
  ASSERT_EQ(b.state(2, cfg), CircuitState::Open);
  b.onSuccess(3, cfg, early);  // must not close the breaker
  EXPECT_EQ(b.state(3, cfg), CircuitState::Open);
  CircuitTicket probe = b.allow(102, cfg);
  b.onSuccess(103, cfg, probe);
  ASSERT_EQ(b.state(103, cfg), CircuitState::Closed);
  b.onFailure(104, cfg, early);  // nor count against the new closed period
  b.onFailure(105, cfg, b.allow(105, cfg));
  EXPECT_EQ(b.state(105, cfg), CircuitState::Closed);
}

TEST(CircuitBreaker, FailureRatioOverTheWindowWithMinimumRequests) {
  CircuitBreaker b;
  config::CircuitBreaker cfg = consecutive(0, 1000);  // consecutive rule off
  cfg.failure_ratio = config::FailureRatio{0.5, config::Duration{10'000}, 10};
  // 4 failures, 4 successes: ratio 0.5 but under min_requests.
  for (int i = 0; i < 4; ++i) {
    b.onFailure(i * 100, cfg, b.allow(i * 100, cfg));
    b.onSuccess(i * 100 + 50, cfg, b.allow(i * 100 + 50, cfg));
  }
  EXPECT_EQ(b.state(1000, cfg), CircuitState::Closed);
  b.onSuccess(1000, cfg, b.allow(1000, cfg));  // 9 results, 4 failures
  b.onFailure(1100, cfg, b.allow(1100, cfg));  // 10 results, 5 failures: 0.5 >= 0.5, trips
  EXPECT_EQ(b.state(1100, cfg), CircuitState::Open);
}

TEST(CircuitBreaker, FailureRatioForgetsResultsOlderThanTheWindow) {
  CircuitBreaker b;
  config::CircuitBreaker cfg = consecutive(0, 1000);
  cfg.failure_ratio = config::FailureRatio{0.5, config::Duration{1'000}, 4};
  for (int i = 0; i < 3; ++i) b.onFailure(0, cfg, b.allow(0, cfg));  // 3 failures at t=0
  // At t=5000 those are gone: 1 failure + 2 successes is 1/3 < 0.5 and the run was reset.
  b.onSuccess(5000, cfg, b.allow(5000, cfg));
  b.onSuccess(5000, cfg, b.allow(5000, cfg));
  b.onFailure(5000, cfg, b.allow(5000, cfg));
  EXPECT_EQ(b.state(5000, cfg), CircuitState::Closed);
  b.onFailure(5100, cfg, b.allow(5100, cfg));  // 4 results, 2 failures: trips
  EXPECT_EQ(b.state(5100, cfg), CircuitState::Open);
}

TEST(CircuitBreaker, StateNames) {
  EXPECT_STREQ(circuitStateName(CircuitState::Closed), "closed");
  EXPECT_STREQ(circuitStateName(CircuitState::Open), "open");
  EXPECT_STREQ(circuitStateName(CircuitState::HalfOpen), "half_open");
}

TEST(CircuitBreaker, ConcurrentWorkersNeverExceedTheProbeSlots) {
  CircuitBreaker b;
  auto cfg = consecutive(1, 10, /*half_open=*/3);
  b.onFailure(0, cfg, b.allow(0, cfg));
  std::atomic<int> probes{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) probes += b.allow(20, cfg).kind == Kind::Probe;
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(probes.load(), 3);
}

TEST(ConcurrencyGate, CapsConcurrentRequests) {
  ConcurrencyGate g;
  EXPECT_TRUE(g.tryAcquire(2));
  EXPECT_TRUE(g.tryAcquire(2));
  EXPECT_FALSE(g.tryAcquire(2));
  EXPECT_EQ(g.inFlight(), 2);
  g.release();
  EXPECT_TRUE(g.tryAcquire(2));
  EXPECT_TRUE(g.tryAcquire(0));  // 0 = unlimited
  EXPECT_EQ(g.inFlight(), 3);
}

TEST(ConcurrencyGate, ExactUnderContention) {
  ConcurrencyGate g;
  std::atomic<int> granted{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) granted += g.tryAcquire(100);
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(granted.load(), 100);
  EXPECT_EQ(g.inFlight(), 100);
}

}  // namespace
}  // namespace sluice::balancer
