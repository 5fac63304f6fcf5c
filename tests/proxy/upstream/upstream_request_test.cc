// Tests for proxy/upstream/upstream_request.h, through the fake upstream of fake_upstream.h:
// which target each try goes to, what each stream receives and what the owner hears -- retries
// (conditions, idempotency, attempts, the budget), the request body on a retry, the stale
// pooled-connection resend and the overall deadline.
#include "proxy/upstream/upstream_request.h"

#include <gtest/gtest.h>

#include "tests/proxy/upstream/fake_upstream.h"

namespace sluice::proxy::test {
namespace {

class UpstreamRequestTest : public UpstreamFixture {};

// ---------------------------------------------------------------------------------------------
// The plain path

TEST_F(UpstreamRequestTest, SuccessHandsTheResponseOverAndGivesEverythingBack) {
  load(kThreeTargets + "    circuit_breaker: {consecutive_failures: 1, max_requests: 10}\n");
  startGet();
  ASSERT_EQ(connector_.streams.size(), 1u);
  FakeStream& s = connector_.last();
  EXPECT_TRUE(s.allow_pooled);
  EXPECT_EQ(s.written, "") << "nothing before the connection is up";
  EXPECT_EQ(activeOf(s.target), 1);
  EXPECT_EQ(upstream().state->requests.inFlight(), 1);
  s.connected();
  EXPECT_EQ(s.written, "GET / HTTP/1.1\r\nhost: t\r\n\r\n");
  EXPECT_TRUE(s.request_complete);
  s.head(200);
  s.body("hello");
  s.complete();
  EXPECT_EQ(rec_.heads, std::vector<int>{200});
  EXPECT_EQ(rec_.body, "hello");
  EXPECT_TRUE(rec_.complete);
  EXPECT_FALSE(rec_.failure);
  EXPECT_EQ(request_->tries(), 1u);
  EXPECT_EQ(retriesCounted(), 0u);
  EXPECT_EQ(metrics_.upstream_requests_total.with({"api", s.target, "200"}).value(), 1u);
  expectNothingHeld();
}

// ---------------------------------------------------------------------------------------------
// Retries

TEST_F(UpstreamRequestTest, ConnectFailureRetriesOnAnotherTargetWithoutBudget) {
  load(kThreeTargets + "    retries: {attempts: 1}\n");
  startGet();
  FakeStream& first = connector_.at(0);
  std::string t1 = first.target;
  first.error(UpstreamError::ConnectFailed);
  ASSERT_EQ(connector_.streams.size(), 2u);
  FakeStream& second = connector_.at(1);
  EXPECT_NE(second.target, t1);
  EXPECT_TRUE(rec_.head_targets.empty()) << "a head is written only when a stream takes it";
  second.connected();
  EXPECT_EQ(rec_.head_targets, (std::vector<std::string>{second.target}));
  EXPECT_EQ(activeOf(t1), 0);
  EXPECT_EQ(activeOf(second.target), 1);
  EXPECT_EQ(retriesCounted(), 1u);
  EXPECT_EQ(budgetRetries(), 0) << "a connect failure costs no retry budget";
  EXPECT_EQ(metrics_.upstream_connect_failures_total.with({"api", t1}).value(), 1u);
  // The default ejection (no passive_health, several targets): out after one connect failure.
  EXPECT_FALSE(state(t1).available(now()));
  EXPECT_EQ(second.written, "GET / HTTP/1.1\r\nhost: t\r\n\r\n");
  second.head(200);
  second.complete();
  EXPECT_EQ(rec_.heads, std::vector<int>{200});
  EXPECT_TRUE(rec_.complete);
  EXPECT_EQ(request_->tries(), 2u);
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, ConnectThatCannotStartIsRetriedToo) {
  load(kThreeTargets + "    retries: {attempts: 1}\n");
  connector_.refuse = 1;
  startGet();
  ASSERT_EQ(connector_.refused.size(), 1u);
  ASSERT_EQ(connector_.streams.size(), 1u);
  EXPECT_NE(connector_.last().target, connector_.refused[0]);
  EXPECT_EQ(retriesCounted(), 1u);
  EXPECT_EQ(budgetRetries(), 0);
  connector_.last().connected();
  connector_.last().head(204);
  connector_.last().complete();
  EXPECT_EQ(rec_.heads, std::vector<int>{204});
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, Retry503OnAnotherTargetDropsTheFirstAnswer) {
  load(kThreeTargets + "    retries: {attempts: 1}\n");
  startGet();
  FakeStream& first = connector_.at(0);
  first.connected();
  first.head(503);
  EXPECT_TRUE(first.abandoned) << "the 503's stream is not read further";
  EXPECT_TRUE(rec_.heads.empty()) << "the owner never sees the retried 503";
  ASSERT_EQ(connector_.streams.size(), 2u);
  FakeStream& second = connector_.at(1);
  EXPECT_NE(second.target, first.target);
  EXPECT_EQ(retriesCounted(), 1u);
  EXPECT_EQ(budgetRetries(), 1) << "a retry after an answer is paid from the budget";
  EXPECT_EQ(metrics_.upstream_requests_total.with({"api", first.target, "503"}).value(), 1u);
  second.connected();
  second.head(200);
  second.complete();
  EXPECT_EQ(rec_.heads, std::vector<int>{200});
  EXPECT_TRUE(rec_.complete);
  expectNothingHeld();
}

// consistent_hash picks the same target for the same key: only the exclusion of the failed
// target sends the retry elsewhere.
TEST_F(UpstreamRequestTest, RetryExcludesTheFailedTargetUnderConsistentHash) {
  load(kThreeTargets + "    balancer: consistent_hash\n    retries: {attempts: 2}\n");
  for (int i = 0; i < 2; ++i) {  // the key maps to one target
    Recorder rec;
    UpstreamRequest::Params p = params();
    p.hash = 0x5eed;
    auto r = make(std::move(p), rec);
    r->start("", true);
  }
  ASSERT_EQ(connector_.streams.size(), 2u);
  EXPECT_EQ(connector_.at(0).target, connector_.at(1).target);
  UpstreamRequest::Params p = params();
  p.hash = 0x5eed;
  request_ = make(std::move(p), rec_);
  request_->start("", true);
  ASSERT_EQ(connector_.streams.size(), 3u);
  connector_.at(2).connected();
  connector_.at(2).head(503);
  ASSERT_EQ(connector_.streams.size(), 4u);
  EXPECT_NE(connector_.at(3).target, connector_.at(2).target);
  connector_.at(3).connected();
  connector_.at(3).head(503);
  ASSERT_EQ(connector_.streams.size(), 5u);
  EXPECT_NE(connector_.at(4).target, connector_.at(2).target);
  EXPECT_NE(connector_.at(4).target, connector_.at(3).target);
  EXPECT_EQ(retriesCounted(), 2u);
}

TEST_F(UpstreamRequestTest, RetryAfterResetOnlyWhenRetriesOnNamesIt) {
  load(kThreeTargets + "    retries: {attempts: 2, on: [reset]}\n");
  startGet();
  connector_.at(0).connected();
  connector_.at(0).error(UpstreamError::Reset);
  ASSERT_EQ(connector_.streams.size(), 2u);
  EXPECT_NE(connector_.at(1).target, connector_.at(0).target);
  // 503 is not in `on`: the answer goes to the owner as it is.
  connector_.at(1).connected();
  connector_.at(1).head(503);
  EXPECT_EQ(connector_.streams.size(), 2u);
  EXPECT_EQ(rec_.heads, std::vector<int>{503});
  connector_.at(1).complete();
  EXPECT_TRUE(rec_.complete);
  EXPECT_EQ(retriesCounted(), 1u);
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, ResetNotInRetriesOnIsA502) {
  load(kThreeTargets + "    retries: {attempts: 2, on: [503]}\n");
  startGet();
  connector_.at(0).connected();
  connector_.at(0).error(UpstreamError::Reset);
  EXPECT_EQ(connector_.streams.size(), 1u);
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 502);
  EXPECT_EQ(rec_.failure->message, nullptr);
  EXPECT_EQ(rec_.failure->error, UpstreamError::Reset);
  EXPECT_FALSE(rec_.failure->response_begun);
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, RetriesStopAfterAttempts) {
  load(kThreeTargets + "    retries: {attempts: 1}\n");
  startGet();
  connector_.at(0).connected();
  connector_.at(0).head(503);
  ASSERT_EQ(connector_.streams.size(), 2u);
  connector_.at(1).connected();
  connector_.at(1).head(503);  // the second try's 503 stands
  EXPECT_EQ(connector_.streams.size(), 2u);
  EXPECT_EQ(rec_.heads, std::vector<int>{503});
  connector_.at(1).complete();
  EXPECT_EQ(retriesCounted(), 1u);
  EXPECT_EQ(request_->tries(), 2u);
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, NonIdempotentMethodIsNotRetried) {
  load(kThreeTargets + "    retries: {attempts: 2}\n");
  rec_.method = "POST";
  request_ = make(params(/*idempotent=*/false), rec_);
  request_->start("", true);
  connector_.at(0).connected();
  connector_.at(0).error(UpstreamError::Reset);
  EXPECT_EQ(connector_.streams.size(), 1u);
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 502);
  EXPECT_EQ(retriesCounted(), 0u);
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, NonIdempotentMethodRetriedWhenAllowed) {
  load(kThreeTargets + "    retries: {attempts: 2, retry_non_idempotent: true}\n");
  rec_.method = "POST";
  request_ = make(params(/*idempotent=*/false), rec_);
  request_->start("", true);
  connector_.at(0).connected();
  connector_.at(0).error(UpstreamError::Reset);
  EXPECT_EQ(connector_.streams.size(), 2u);
  EXPECT_FALSE(rec_.failure);
}

TEST_F(UpstreamRequestTest, NoRetryWithZeroAttempts) {
  load(kThreeTargets + "    retries: {attempts: 0}\n");
  startGet();
  connector_.at(0).error(UpstreamError::ConnectFailed);
  EXPECT_EQ(connector_.streams.size(), 1u);
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 502);
  EXPECT_EQ(rec_.failure->error, UpstreamError::ConnectFailed);
  EXPECT_EQ(retriesCounted(), 0u);
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, NoRetryOnceTheResponseHeadWentToTheOwner) {
  load(kThreeTargets + "    retries: {attempts: 2}\n");
  startGet();
  connector_.at(0).connected();
  connector_.at(0).head(200);
  connector_.at(0).body("par");
  connector_.at(0).error(UpstreamError::Reset, true);
  EXPECT_EQ(connector_.streams.size(), 1u);
  ASSERT_TRUE(rec_.failure);
  EXPECT_TRUE(rec_.failure->response_begun);
  EXPECT_EQ(rec_.body, "par");
  expectNothingHeld();
}

// ---------------------------------------------------------------------------------------------
// Request bodies

TEST_F(UpstreamRequestTest, CompleteBodyIsSentAgainOnTheRetry) {
  load(kThreeTargets + "    retries: {attempts: 1}\n");
  rec_.method = "PUT";
  request_ = make(params(true, BodyFraming::Length), rec_);
  request_->start("hello", true);
  connector_.at(0).connected();
  EXPECT_EQ(connector_.at(0).written, "PUT / HTTP/1.1\r\nhost: t\r\n\r\nhello");
  connector_.at(0).error(UpstreamError::Reset);
  ASSERT_EQ(connector_.streams.size(), 2u);
  connector_.at(1).connected();
  EXPECT_EQ(connector_.at(1).written, "PUT / HTTP/1.1\r\nhost: t\r\n\r\nhello");
  EXPECT_TRUE(connector_.at(1).request_complete);
}

TEST_F(UpstreamRequestTest, ChunkedCompleteBodyIsSentAgainOnTheRetry) {
  load(kThreeTargets + "    retries: {attempts: 1}\n");
  rec_.method = "PUT";
  request_ = make(params(true, BodyFraming::Chunked), rec_);
  request_->start("hello", true);
  connector_.at(0).connected();
  const std::string expected = "PUT / HTTP/1.1\r\nhost: t\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  EXPECT_EQ(connector_.at(0).written, expected);
  connector_.at(0).head(502);
  ASSERT_EQ(connector_.streams.size(), 2u);
  connector_.at(1).connected();
  EXPECT_EQ(connector_.at(1).written, expected);
}

TEST_F(UpstreamRequestTest, RequestTrailersGoInTheLastChunkAndOnTheRetry) {
  load(kThreeTargets + "    retries: {attempts: 1}\n");
  rec_.method = "PUT";
  request_ = make(params(true, BodyFraming::Chunked), rec_);
  base::HeaderMap trailers;
  trailers.add("x-checksum", "1");
  trailers.add("content-length", "5");  // framing fields never travel as trailers
  request_->setTrailers(trailers);
  request_->start("hello", true);
  connector_.at(0).connected();
  const std::string expected =
      "PUT / HTTP/1.1\r\nhost: t\r\n\r\n5\r\nhello\r\n0\r\nx-checksum: 1\r\n\r\n";
  EXPECT_EQ(connector_.at(0).written, expected);
  connector_.at(0).head(502);
  ASSERT_EQ(connector_.streams.size(), 2u);
  connector_.at(1).connected();
  EXPECT_EQ(connector_.at(1).written, expected);
}

TEST_F(UpstreamRequestTest, StreamedRequestTrailersGoInTheLastChunk) {
  load(kThreeTargets);
  rec_.method = "PUT";
  request_ = make(params(true, BodyFraming::Chunked), rec_);
  request_->start("hel", false);
  connector_.at(0).connected();
  EXPECT_TRUE(request_->sendBody("lo", 2));
  base::HeaderMap trailers;
  trailers.add("x-checksum", "1");
  request_->setTrailers(trailers);
  EXPECT_TRUE(request_->endBody());
  EXPECT_EQ(connector_.at(0).written,
            "PUT / HTTP/1.1\r\nhost: t\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\nx-checksum: 1\r\n\r\n");
  EXPECT_TRUE(connector_.at(0).request_complete);
}

TEST_F(UpstreamRequestTest, StreamedBodyIsNotRetried) {
  load(kThreeTargets + "    retries: {attempts: 2}\n");
  rec_.method = "PUT";
  request_ = make(params(true, BodyFraming::Length), rec_);
  request_->start("hel", false);
  connector_.at(0).connected();
  EXPECT_FALSE(connector_.at(0).request_complete);
  EXPECT_TRUE(request_->sendBody("lo", 2));
  EXPECT_TRUE(request_->endBody());
  EXPECT_EQ(connector_.at(0).written, "PUT / HTTP/1.1\r\nhost: t\r\n\r\nhello");
  EXPECT_TRUE(connector_.at(0).request_complete);
  connector_.at(0).error(UpstreamError::Reset);
  EXPECT_EQ(connector_.streams.size(), 1u) << "the body is gone: no retry";
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 502);
  EXPECT_FALSE(request_->sendBody("x", 1)) << "the request failed";
  expectNothingHeld();
}

// ---------------------------------------------------------------------------------------------
// The stale pooled connection

TEST_F(UpstreamRequestTest, ReusedStreamResetBeforeAnswerIsResentOnceToTheSameTarget) {
  load(kThreeTargets + "    retries: {attempts: 2}\n");
  connector_.pooled = 1;
  startGet();
  FakeStream& pooled = connector_.at(0);
  EXPECT_TRUE(pooled.is_reused);
  EXPECT_EQ(pooled.written, "GET / HTTP/1.1\r\nhost: t\r\n\r\n") << "a pooled stream is ready";
  pooled.error(UpstreamError::Reset, false);
  ASSERT_EQ(connector_.streams.size(), 2u);
  FakeStream& fresh = connector_.at(1);
  EXPECT_EQ(fresh.target, pooled.target);
  EXPECT_FALSE(fresh.allow_pooled);
  EXPECT_EQ(retriesCounted(), 0u) << "the resend is not a retry";
  EXPECT_EQ(request_->tries(), 1u);
  EXPECT_EQ(activeOf(pooled.target), 1);
  EXPECT_TRUE(state(pooled.target).available(now()));
  fresh.connected();
  EXPECT_EQ(fresh.written, "GET / HTTP/1.1\r\nhost: t\r\n\r\n");
  fresh.head(200);
  fresh.complete();
  EXPECT_EQ(rec_.heads, std::vector<int>{200});
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, StaleResendHappensOnlyOnceThenRetries) {
  load(kThreeTargets + "    retries: {attempts: 2}\n");
  connector_.pooled = 5;
  startGet();
  std::string t1 = connector_.at(0).target;
  connector_.at(0).error(UpstreamError::Reset, false);
  ASSERT_EQ(connector_.streams.size(), 2u);
  connector_.at(1).connected();
  connector_.at(1).error(UpstreamError::Reset, false);  // a fresh stream: a real reset
  ASSERT_EQ(connector_.streams.size(), 3u);
  EXPECT_NE(connector_.at(2).target, t1);
  EXPECT_EQ(retriesCounted(), 1u);
}

TEST_F(UpstreamRequestTest, ReusedStreamResetAfterResponseBytesIsNotResent) {
  load(kThreeTargets + "    retries: {attempts: 0}\n");
  connector_.pooled = 1;
  startGet();
  connector_.at(0).error(UpstreamError::Reset, /*response_started=*/true);
  EXPECT_EQ(connector_.streams.size(), 1u);
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 502);
}

TEST_F(UpstreamRequestTest, ReusedStreamResetIsNotResentForABody) {
  load(kThreeTargets + "    retries: {attempts: 0}\n");
  connector_.pooled = 1;
  request_ = make(params(true, BodyFraming::Length), rec_);
  request_->start("hello", true);
  connector_.at(0).error(UpstreamError::Reset, false);
  EXPECT_EQ(connector_.streams.size(), 1u);
  ASSERT_TRUE(rec_.failure);
}

// ---------------------------------------------------------------------------------------------
// The overall deadline

TEST_F(UpstreamRequestTest, DeadlineIs504AndJudgesTheTry) {
  load(kThreeTargets +
       "    retries: {attempts: 2, deadline: 20ms}\n"
       "    passive_health: {consecutive_failures: 1, base_ejection: 30s, "
       "max_ejection_percent: 100}\n");
  startGet();
  FakeStream& s = connector_.at(0);
  s.connected();
  EXPECT_FALSE(rec_.failure);
  uv_run(&loop_, UV_RUN_ONCE);  // the deadline timer is the only handle: it fires
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 504);
  EXPECT_EQ(rec_.failure->error, UpstreamError::ResponseTimeout);
  EXPECT_TRUE(s.abandoned);
  EXPECT_EQ(connector_.streams.size(), 1u) << "no retry after the deadline";
  EXPECT_FALSE(state(s.target).available(now()));
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, DeadlineSpansTries) {
  load(kThreeTargets + "    retries: {attempts: 2, deadline: 20ms}\n");
  startGet();
  connector_.at(0).connected();
  connector_.at(0).head(503);
  ASSERT_EQ(connector_.streams.size(), 2u);
  connector_.at(1).connected();
  uv_run(&loop_, UV_RUN_ONCE);
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 504);
  EXPECT_TRUE(connector_.at(1).abandoned);
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, DeadlineStopsWhenTheResponseCompletes) {
  load(kThreeTargets + "    retries: {deadline: 20ms}\n");
  startGet();
  connector_.at(0).connected();
  connector_.at(0).head(200);
  connector_.at(0).complete();
  // Nothing keeps the loop alive once the timer is stopped: NOWAIT-ing past 20 ms fires nothing.
  uv_sleep(30);
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_FALSE(rec_.failure);
  EXPECT_TRUE(rec_.complete);
}

}  // namespace
}  // namespace sluice::proxy::test
