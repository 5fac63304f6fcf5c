// Tests for the protocol-neutral side of proxy/upstream/upstream_request.h: a stream that takes
// the structured head (as the HTTP/2 stream does) gets the owner's edited head, the body
// unframed and the trailers apart; a stream the upstream refused (HTTP/2 GOAWAY,
// REFUSED_STREAM) is sent again at no cost; a per-try timeout (grpc-timeout) is a 504.
#include <gtest/gtest.h>

#include "proxy/upstream/upstream_request.h"
#include "tests/proxy/upstream/fake_upstream.h"

namespace sluice::proxy::test {
namespace {

class UpstreamStreamsTest : public UpstreamFixture {};

TEST_F(UpstreamStreamsTest, StructuredStreamGetsTheEditedHeadAndTheBodyUnframed) {
  load(kThreeTargets);
  connector_.structured = true;
  rec_.method = "PUT";
  UpstreamRequest::Params p = params(true, BodyFraming::Chunked);
  request_ = make(p, rec_);
  request_->start("hel", false);
  FakeStream& s = connector_.at(0);
  s.connected();
  EXPECT_EQ(s.sent_head.method, "PUT");
  EXPECT_EQ(s.sent_head.host, "t");
  ASSERT_NE(s.sent_head.headers.get("x-edited"), nullptr) << "the owner's edits are applied";
  EXPECT_EQ(s.start.framing, BodyFraming::Chunked);
  EXPECT_FALSE(s.request_complete);
  EXPECT_TRUE(request_->sendBody("lo", 2));
  base::HeaderMap trailers;
  trailers.add("grpc-status", "0");
  request_->setTrailers(trailers);
  EXPECT_TRUE(request_->endBody());
  EXPECT_EQ(s.written, "hello") << "no chunk framing: the stream frames the body itself";
  EXPECT_TRUE(s.request_complete);
  ASSERT_NE(s.sent_trailers.get("grpc-status"), nullptr);
  EXPECT_EQ(rec_.head_targets, std::vector<std::string>{s.target});
}

TEST_F(UpstreamStreamsTest, StructuredStreamGetsTheLengthOfAWholeBody) {
  load(kThreeTargets);
  connector_.structured = true;
  rec_.method = "POST";
  UpstreamRequest::Params p = params(false, BodyFraming::Length);
  p.length = 5;
  request_ = make(p, rec_);
  request_->start("hello", true);
  FakeStream& s = connector_.at(0);
  s.connected();
  EXPECT_EQ(s.start.length, 5u);
  EXPECT_EQ(s.written, "hello");
  EXPECT_TRUE(s.request_complete);
  s.head(200);
  s.complete();
  EXPECT_TRUE(rec_.complete);
}

TEST_F(UpstreamStreamsTest, RefusedStreamIsSentAgainToTheSameTargetAtNoCost) {
  load(kThreeTargets +
       "    retries: {attempts: 0}\n"
       "    passive_health: {consecutive_failures: 1, base_ejection: 30s, "
       "max_ejection_percent: 100}\n");
  rec_.method = "POST";
  request_ = make(params(false), rec_);  // not idempotent, no retries: still safe to resend
  request_->start("", true);
  FakeStream& first = connector_.at(0);
  first.connected();
  first.error(UpstreamError::Refused);
  ASSERT_EQ(connector_.streams.size(), 2u);
  FakeStream& second = connector_.at(1);
  EXPECT_EQ(second.target, first.target);
  EXPECT_EQ(request_->tries(), 1u) << "not a retry";
  EXPECT_EQ(retriesCounted(), 0u);
  EXPECT_TRUE(state(first.target).available(now())) << "a refusal is not the target's failure";
  second.connected();
  second.head(200);
  second.complete();
  EXPECT_TRUE(rec_.complete);
  EXPECT_FALSE(rec_.failure);
  expectNothingHeld();
}

TEST_F(UpstreamStreamsTest, RefusedResendsAreBounded) {
  load(kThreeTargets + "    retries: {attempts: 0}\n");
  startGet();
  for (int i = 0; i < 10 && !rec_.failure; ++i) {
    connector_.last().connected();
    connector_.last().error(UpstreamError::Refused);
  }
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 502);
  EXPECT_EQ(connector_.streams.size(), 4u) << "three resends, then the failure stands";
  expectNothingHeld();
}

TEST_F(UpstreamStreamsTest, TryTimeoutIsA504WithoutRetry) {
  load(kThreeTargets + "    retries: {attempts: 2}\n");
  UpstreamRequest::Params p = params();
  p.try_timeout = std::chrono::milliseconds(20);
  request_ = make(p, rec_);
  request_->start("", true);
  FakeStream& s = connector_.at(0);
  s.connected();
  EXPECT_FALSE(rec_.failure);
  uv_run(&loop_, UV_RUN_ONCE);  // the try's timer is the only handle: it fires
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 504);
  EXPECT_EQ(rec_.failure->error, UpstreamError::ResponseTimeout);
  EXPECT_TRUE(s.abandoned);
  EXPECT_EQ(connector_.streams.size(), 1u) << "no retry: the caller's deadline has passed";
  expectNothingHeld();
}

TEST_F(UpstreamStreamsTest, TryTimeoutStopsWhenTheResponseCompletes) {
  load(kThreeTargets);
  UpstreamRequest::Params p = params();
  p.try_timeout = std::chrono::milliseconds(20);
  request_ = make(p, rec_);
  request_->start("", true);
  connector_.at(0).connected();
  connector_.at(0).head(200);
  connector_.at(0).complete();
  EXPECT_TRUE(rec_.complete);
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_FALSE(rec_.failure);
}

}  // namespace
}  // namespace sluice::proxy::test
