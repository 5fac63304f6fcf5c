// Tests for UpstreamRequest::Params::retry (proxy/upstream/upstream_request.h): a request sluice
// makes that must not add load (a mirror's copy) gets one try, whatever the upstream's
// `retries:` say, on a connect failure, a reset and a status `retries.on` names.
#include <gtest/gtest.h>

#include "proxy/upstream/upstream_request.h"
#include "tests/proxy/upstream/fake_upstream.h"

namespace sluice::proxy::test {
namespace {

class UpstreamRequestNoRetryTest : public UpstreamFixture {
 protected:
  void startOneTry() {
    UpstreamRequest::Params p = params();
    p.retry = false;
    request_ = make(std::move(p), rec_);
    request_->start("", true);
  }
};

TEST_F(UpstreamRequestNoRetryTest, ConnectFailureIsNotRetried) {
  load(kThreeTargets + "    retries: {attempts: 2}\n");
  startOneTry();
  connector_.at(0).error(UpstreamError::ConnectFailed);
  EXPECT_EQ(connector_.streams.size(), 1u);
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(rec_.failure->status, 502);
  EXPECT_EQ(retriesCounted(), 0u);
  EXPECT_EQ(request_->tries(), 1u);
  expectNothingHeld();
}

TEST_F(UpstreamRequestNoRetryTest, ResetIsNotRetried) {
  load(kThreeTargets + "    retries: {attempts: 2, on: [reset, connect_failure]}\n");
  startOneTry();
  connector_.at(0).connected();
  connector_.at(0).error(UpstreamError::Reset);
  EXPECT_EQ(connector_.streams.size(), 1u);
  ASSERT_TRUE(rec_.failure);
  EXPECT_EQ(retriesCounted(), 0u);
  expectNothingHeld();
}

TEST_F(UpstreamRequestNoRetryTest, A503IsHandedOverInsteadOfRetried) {
  load(kThreeTargets + "    retries: {attempts: 2}\n");
  startOneTry();
  connector_.at(0).connected();
  connector_.at(0).head(503);
  EXPECT_EQ(connector_.streams.size(), 1u);
  EXPECT_EQ(rec_.heads, std::vector<int>{503});
  connector_.at(0).complete();
  EXPECT_TRUE(rec_.complete);
  EXPECT_EQ(retriesCounted(), 0u);
  EXPECT_EQ(budgetRetries(), 0);
  expectNothingHeld();
}

}  // namespace
}  // namespace sluice::proxy::test
