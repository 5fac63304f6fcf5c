// Tests for proxy/upstream/upstream_attempt.h as UpstreamRequest uses it for each try (through
// the fake upstream of fake_upstream.h): the breaker and passive-health verdicts, the active
// counts and max_requests slots given back on every path (success, failure, retry, the owner
// deleting the request), and the 503 when no target is left or max_requests is reached.
#include "proxy/upstream/upstream_attempt.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "proxy/admin/status_events.h"
#include "tests/proxy/upstream/fake_upstream.h"

namespace sluice::proxy::test {
namespace {

class UpstreamAttemptTest : public UpstreamFixture {};

// ---------------------------------------------------------------------------------------------
// Verdicts: passive health and the circuit breaker

TEST_F(UpstreamAttemptTest, PassiveHealthEjectsTheFailedTarget) {
  load(kThreeTargets +
       "    retries: {attempts: 1}\n"
       "    passive_health: {consecutive_failures: 1, base_ejection: 30s, "
       "max_ejection_percent: 100}\n");
  startGet();
  std::string t1 = connector_.at(0).target;
  connector_.at(0).connected();
  connector_.at(0).head(503);
  EXPECT_FALSE(state(t1).available(now()));
  ASSERT_EQ(connector_.streams.size(), 2u);
  std::string t2 = connector_.at(1).target;
  connector_.at(1).connected();
  connector_.at(1).head(200);
  connector_.at(1).complete();
  EXPECT_TRUE(state(t2).available(now()));
  EXPECT_EQ(state(t2).ejection.consecutiveFailures(), 0u);
  expectNothingHeld();
}

TEST_F(UpstreamAttemptTest, PassiveFailureBelowTheThresholdDoesNotEject) {
  load(kThreeTargets +
       "    retries: {attempts: 0}\n"
       "    passive_health: {consecutive_failures: 2, base_ejection: 30s}\n");
  startGet();
  std::string t = connector_.at(0).target;
  connector_.at(0).connected();
  connector_.at(0).error(UpstreamError::Reset);
  EXPECT_EQ(state(t).ejection.consecutiveFailures(), 1u);
  EXPECT_TRUE(state(t).available(now()));
}

TEST_F(UpstreamAttemptTest, PassiveSuccessResetsTheRunOfFailures) {
  load(
      "    targets: [{address: \"127.0.0.1:9001\"}]\n"
      "    retries: {attempts: 0}\n"
      "    passive_health: {consecutive_failures: 2, base_ejection: 30s}\n");
  balancer::TargetState& ts = state("127.0.0.1:9001");
  for (int status : {502, 200, 502}) {
    Recorder rec;
    auto r = make(params(), rec);
    r->start("", true);
    connector_.last().connected();
    connector_.last().head(status);
    connector_.last().complete();
    EXPECT_EQ(ts.ejection.consecutiveFailures(), status == 200 ? 0u : 1u) << status;
  }
  EXPECT_TRUE(ts.available(now())) << "two failures, but not in a row";
  expectNothingHeld();
}

TEST_F(UpstreamAttemptTest, CircuitBreakerOpensAfterTheFailure) {
  load(kThreeTargets +
       "    retries: {attempts: 1}\n"
       "    circuit_breaker: {consecutive_failures: 1, open_for: 30s}\n");
  startGet();
  std::string t1 = connector_.at(0).target;
  connector_.at(0).connected();
  connector_.at(0).error(UpstreamError::Reset);
  const config::CircuitBreaker& cb = *upstream().config->circuit_breaker;
  EXPECT_EQ(state(t1).breaker.state(now(), cb), balancer::CircuitState::Open);
  ASSERT_EQ(connector_.streams.size(), 2u);
  std::string t2 = connector_.at(1).target;
  connector_.at(1).connected();
  connector_.at(1).head(200);
  connector_.at(1).complete();
  EXPECT_EQ(state(t2).breaker.state(now(), cb), balancer::CircuitState::Closed);
  expectNothingHeld();
  // The open target is skipped by the next requests.
  for (int i = 0; i < 4; ++i) {
    Recorder rec;
    auto r = make(params(), rec);
    r->start("", true);
    EXPECT_NE(connector_.last().target, t1);
    connector_.last().connected();
    connector_.last().head(200);
    connector_.last().complete();
  }
  expectNothingHeld();
}

TEST_F(UpstreamAttemptTest, A5xxAnswerCountsAsAFailureForTheBreaker) {
  load(kThreeTargets +
       "    retries: {attempts: 0}\n"
       "    circuit_breaker: {consecutive_failures: 1, open_for: 30s}\n");
  startGet();
  std::string t = connector_.at(0).target;
  connector_.at(0).connected();
  connector_.at(0).head(500);
  EXPECT_EQ(rec_.heads, std::vector<int>{500});
  const config::CircuitBreaker& cb = *upstream().config->circuit_breaker;
  EXPECT_EQ(state(t).breaker.state(now(), cb), balancer::CircuitState::Open);
  connector_.at(0).complete();
  expectNothingHeld();
}

// The status page's event list hears of each breaker change once, from the try that made it, and
// of nothing while the breaker stays as it is (nothing is recorded per request).
TEST_F(UpstreamAttemptTest, BreakerChangesAreRecordedOnceEach) {
  load(
      "    targets: [{address: \"127.0.0.1:9001\"}]\n"
      "    retries: {attempts: 0}\n"
      "    circuit_breaker: {consecutive_failures: 2, open_for: 20ms}\n");
  StatusEvents events;
  shared_.events = &events;
  auto answer = [&](int status) {
    Recorder rec;
    auto r = make(params(), rec);
    r->start("", true);
    if (rec.failure) return rec.failure->status;  // no target: the breaker is open
    connector_.last().connected();
    connector_.last().head(status);
    connector_.last().complete();
    return status;
  };
  auto states = [&] {
    std::vector<std::string> out;
    for (const StatusEvent& e : events.view().newest_first) {
      EXPECT_EQ(e.kind, base::EventKind::Circuit);
      EXPECT_EQ(e.subject, "api 127.0.0.1:9001");
      out.push_back(e.state);
    }
    return out;
  };
  for (int i = 0; i < 50; ++i) answer(200);
  EXPECT_TRUE(states().empty());
  answer(502);
  answer(502);
  EXPECT_EQ(answer(200), 503) << "open";
  EXPECT_EQ(states(), std::vector<std::string>{"open"});
  EXPECT_NE(events.view().newest_first[0].detail.find("tripped by failures"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(25));
  uv_update_time(&loop_);
  answer(502);  // the half-open probe fails: open again
  std::this_thread::sleep_for(std::chrono::milliseconds(25));
  uv_update_time(&loop_);
  answer(200);  // the next probe closes it
  for (int i = 0; i < 50; ++i) answer(200);
  EXPECT_EQ(states(),
            (std::vector<std::string>{"closed", "half-open", "open", "half-open", "open"}));
  EXPECT_NE(events.view().newest_first[2].detail.find("a probe request failed"), std::string::npos);
  shared_.events = nullptr;
  expectNothingHeld();
}

TEST_F(UpstreamAttemptTest, EjectionIsRecordedWithItsReturnScheduled) {
  load(kThreeTargets +
       "    retries: {attempts: 0}\n"
       "    passive_health: {consecutive_failures: 1, base_ejection: 30s, "
       "max_ejection_percent: 100}\n");
  StatusEvents events;
  shared_.events = &events;
  startGet();
  std::string t = connector_.at(0).target;
  connector_.at(0).connected();
  connector_.at(0).head(503);
  connector_.at(0).complete();
  auto v = events.view();
  ASSERT_EQ(v.newest_first.size(), 1u) << "the return is not due for 30 s";
  EXPECT_EQ(v.newest_first[0].kind, base::EventKind::TargetEjection);
  EXPECT_EQ(v.newest_first[0].subject, "api " + t);
  EXPECT_EQ(v.newest_first[0].state, "ejected");
  EXPECT_EQ(v.newest_first[0].detail, "after 1 failure(s), for 30 s");
  request_.reset();
  shared_.events = nullptr;
  expectNothingHeld();
}

TEST_F(UpstreamAttemptTest, OwnerDeletingTheRequestMidTryGivesEverythingBack) {
  load(kThreeTargets +
       "    passive_health: {consecutive_failures: 1, base_ejection: 30s}\n"
       "    circuit_breaker: {consecutive_failures: 1, half_open_requests: 1, "
       "max_requests: 5}\n");
  startGet();
  FakeStream& s = connector_.at(0);
  s.connected();
  EXPECT_EQ(activeOf(s.target), 1);
  EXPECT_EQ(upstream().state->requests.inFlight(), 1);
  request_.reset();
  EXPECT_TRUE(s.abandoned);
  expectNothingHeld();
  // No verdict: neither ejected nor tripped.
  const config::CircuitBreaker& cb = *upstream().config->circuit_breaker;
  EXPECT_TRUE(state(s.target).available(now()));
  EXPECT_EQ(state(s.target).ejection.consecutiveFailures(), 0u);
  EXPECT_EQ(state(s.target).breaker.state(now(), cb), balancer::CircuitState::Closed);
  EXPECT_FALSE(rec_.failure) << "the owner that deleted it is not called";
}

TEST_F(UpstreamAttemptTest, OwnerDeletingTheRequestFromOnFailureIsSafe) {
  load(kThreeTargets + "    retries: {attempts: 0}\n");
  startGet();
  rec_.on_failure = [this] { request_.reset(); };
  connector_.at(0).connected();
  connector_.at(0).error(UpstreamError::Reset);
  EXPECT_EQ(rec_.failures, 1);
  EXPECT_FALSE(request_);
  expectNothingHeld();
}

TEST_F(UpstreamAttemptTest, FailByTheOwnerJudgesTheTry) {
  load(kThreeTargets +
       "    retries: {attempts: 2}\n"
       "    passive_health: {consecutive_failures: 1, base_ejection: 30s, "
       "max_ejection_percent: 100}\n");
  startGet();
  FakeStream& s = connector_.at(0);
  s.connected();
  request_->fail(UpstreamError::BadResponse);
  EXPECT_TRUE(s.abandoned);
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 502);
  EXPECT_EQ(connector_.streams.size(), 1u) << "fail() is final";
  EXPECT_FALSE(state(s.target).available(now()));
  expectNothingHeld();
}

// ---------------------------------------------------------------------------------------------
// 503 when nothing is left to try

TEST_F(UpstreamAttemptTest, NoTargetLeftIs503) {
  load(kThreeTargets +
       "    retries: {attempts: 0}\n"
       "    passive_health: {consecutive_failures: 1, base_ejection: 30s, "
       "max_ejection_percent: 100}\n");
  // Eject all three, one request each.
  for (int i = 0; i < 3; ++i) {
    Recorder rec;
    auto r = make(params(), rec);
    r->start("", true);
    ASSERT_EQ(connector_.streams.size(), static_cast<size_t>(i + 1));
    connector_.last().connected();
    connector_.last().error(UpstreamError::Reset);
    EXPECT_FALSE(state(connector_.last().target).available(now()));
  }
  startGet();
  EXPECT_EQ(connector_.streams.size(), 3u) << "no stream for a request with no target";
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 503);
  ASSERT_NE(rec_.failure->message, nullptr);
  EXPECT_STREQ(rec_.failure->message, "no healthy upstream target");
  EXPECT_EQ(request_->target(), nullptr);
  expectNothingHeld();
}

TEST_F(UpstreamAttemptTest, RetryWithNoOtherTargetKeepsTheOriginalFailure) {
  load("    targets: [{address: \"127.0.0.1:9001\"}]\n    retries: {attempts: 2}\n");
  startGet();
  connector_.at(0).connected();
  connector_.at(0).head(503);
  EXPECT_EQ(connector_.streams.size(), 1u);
  EXPECT_EQ(rec_.heads, std::vector<int>{503}) << "the upstream's own 503 goes through";
  EXPECT_EQ(retriesCounted(), 0u);
}

TEST_F(UpstreamAttemptTest, MaxRequestsReachedIs503) {
  load(kThreeTargets + "    circuit_breaker: {max_requests: 2}\n");
  Recorder r1, r2, r3;
  auto a = make(params(), r1);
  auto b = make(params(), r2);
  auto c = make(params(), r3);
  a->start("", true);
  b->start("", true);
  EXPECT_EQ(upstream().state->requests.inFlight(), 2);
  c->start("", true);
  EXPECT_EQ(connector_.streams.size(), 2u);
  EXPECT_FALSE(r1.failure);
  EXPECT_FALSE(r2.failure);
  ASSERT_TRUE(r3.failure);
  EXPECT_EQ(r3.failure->status, 503);
  ASSERT_NE(r3.failure->message, nullptr);
  EXPECT_STREQ(r3.failure->message, "upstream at max_requests");
  EXPECT_EQ(upstream().state->requests.inFlight(), 2);
  // A slot given back (by completion) lets the next one in.
  connector_.at(0).connected();
  connector_.at(0).head(200);
  connector_.at(0).complete();
  EXPECT_EQ(upstream().state->requests.inFlight(), 1);
  Recorder r4;
  auto d = make(params(), r4);
  d->start("", true);
  EXPECT_FALSE(r4.failure);
  EXPECT_EQ(connector_.streams.size(), 3u);
  a.reset();
  b.reset();
  c.reset();
  d.reset();
  expectNothingHeld();
}

TEST_F(UpstreamAttemptTest, RetryThatFindsMaxRequestsHeldKeepsItsOwnSlot) {
  // The retry gives its slot back before it takes one: with max_requests 1 it still goes.
  load(kThreeTargets + "    retries: {attempts: 1}\n    circuit_breaker: {max_requests: 1}\n");
  startGet();
  connector_.at(0).error(UpstreamError::ConnectFailed);
  ASSERT_EQ(connector_.streams.size(), 2u);
  EXPECT_FALSE(rec_.failure);
  EXPECT_EQ(upstream().state->requests.inFlight(), 1);
  request_.reset();
  expectNothingHeld();
}

}  // namespace
}  // namespace sluice::proxy::test
