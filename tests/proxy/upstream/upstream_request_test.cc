// Tests for proxy/upstream/upstream_request.h: an UpstreamRequest driven through a fake
// connector whose fake streams record what is written and let the test play the upstream
// (connected, head, body, complete, error), over a real WorkerContext and a Snapshot built from
// YAML (IP literal targets, nothing resolves). They check which target each try goes to, what
// each stream receives, what the owner hears, and what reaches the shared target state: retries,
// the budget, breaker and passive verdicts, active counts and max_requests slots.
#include "proxy/upstream/upstream_request.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.h"
#include "filters/base/state_store.h"
#include "proxy/admin/metrics.h"
#include "proxy/runtime/worker_context.h"
#include "proxy/upstream/resolver.h"

namespace sluice::proxy {
namespace {

class FakeConnector;

// One stream the connector handed out. The test plays the upstream through the handler; the
// stream records what the request side did to it.
struct FakeStream final : UpstreamStream {
  UpstreamHandler* handler = nullptr;
  std::string target;  // the address it was acquired for
  bool allow_pooled = false;
  bool is_reused = false;
  std::string written;
  bool began = false;
  bool request_complete = false;
  bool abandoned = false;
  bool ended = false;  // complete or error was reported (the stream is gone)

  bool reused() const override { return is_reused; }
  void beginRequest(bool) override { began = true; }
  bool write(const uv_buf_t* bufs, unsigned count) override {
    EXPECT_FALSE(abandoned || ended) << "write on a stream that is gone";
    for (unsigned i = 0; i < count; ++i) written.append(bufs[i].base, bufs[i].len);
    return true;
  }
  void requestComplete() override { request_complete = true; }
  size_t queuedBytes() const override { return 0; }
  void pauseReading() override {}
  void resumeReading() override {}
  void startTunnel() override {}
  void shutdownWrite() override {}
  void abandon() override {
    EXPECT_FALSE(ended) << "abandon of a stream that is gone";
    abandoned = true;
  }

  // The upstream's side.
  void connected() { handler->onUpstreamConnected(); }
  void head(int status) {
    base::ResponseHead h;
    h.status = status;
    handler->onUpstreamHead(h, false);
  }
  void body(const std::string& b) { handler->onUpstreamBody(b.data(), b.size()); }
  void complete() {
    ended = true;
    handler->onUpstreamComplete();
  }
  void error(UpstreamError e, bool response_started = false) {
    ended = true;
    handler->onUpstreamError(e, response_started);
  }
};

class FakeConnector final : public UpstreamConnector {
 public:
  // Idle pooled streams available: a pooled acquire is ready at once and reused.
  int pooled = 0;
  // Acquires that fail to even start (null), from the next one on.
  int refuse = 0;
  std::vector<std::unique_ptr<FakeStream>> streams;
  std::vector<std::string> refused;  // targets of refused acquires

  UpstreamStream* acquire(const UpstreamRuntime&, const ResolvedTarget& target,
                          UpstreamHandler* handler, bool allow_pooled, bool& ready) override {
    if (refuse > 0) {
      --refuse;
      refused.push_back(target.address);
      return nullptr;
    }
    auto s = std::make_unique<FakeStream>();
    s->handler = handler;
    s->target = target.address;
    s->allow_pooled = allow_pooled;
    ready = false;
    if (allow_pooled && pooled > 0) {
      --pooled;
      s->is_reused = true;
      ready = true;
    }
    streams.push_back(std::move(s));
    return streams.back().get();
  }
  FakeStream& last() { return *streams.back(); }
  FakeStream& at(size_t i) { return *streams.at(i); }
};

class Recorder final : public UpstreamRequestCallbacks {
 public:
  std::string method = "GET";
  std::vector<std::string> head_targets;  // one per try's head
  std::vector<int> heads;                 // final heads handed over
  std::string body;
  bool complete = false;
  std::optional<UpstreamFailure> failure;
  int failures = 0;
  std::function<void()> on_failure;  // e.g. the owner deletes the request

  void writeRequestHead(const ResolvedTarget& target, std::string& out) override {
    head_targets.push_back(target.address);
    out.append(method).append(" / HTTP/1.1\r\nhost: t\r\n\r\n");
  }
  void onResponseHead(base::ResponseHead& head, bool interim) override {
    if (!interim) heads.push_back(head.status);
  }
  void onResponseBody(const char* data, size_t len) override { body.append(data, len); }
  void onResponseComplete() override { complete = true; }
  void onFailure(const UpstreamFailure& f) override {
    failure = f;
    ++failures;
    if (on_failure) on_failure();
  }
};

const config::LoadOptions kNoFileChecks{false, nullptr};

// `upstream` is the YAML of the upstream's keys after its name (indented 4 spaces).
std::string configYaml(const std::string& upstream) {
  return "listeners:\n"
         "  - {name: public, address: \"127.0.0.1:8080\"}\n"
         "upstreams:\n"
         "  - name: api\n" +
         upstream +
         "routes:\n"
         "  - {name: all, match: {path_prefix: /}, upstream: api}\n";
}

const std::string kThreeTargets =
    "    targets: [{address: \"127.0.0.1:9001\"}, {address: \"127.0.0.1:9002\"},\n"
    "              {address: \"127.0.0.1:9003\"}]\n";

class UpstreamRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ctx_ = std::make_unique<WorkerContext>(&loop_, 0, metrics_, shared_);
  }
  void TearDown() override {
    request_.reset();
    ctx_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // close callbacks (the deadline timer)
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
  }

  // Builds and adopts a snapshot whose upstream `api` has `upstream` (YAML, see configYaml).
  void load(const std::string& upstream) {
    auto r =
        config::loadString(configYaml(upstream), "/tmp/upstream_request_test.yaml", kNoFileChecks);
    ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].text());
    std::vector<ResolvedTarget> resolved;
    for (const config::Upstream& u : r.config->upstreams) {
      for (const config::Target& t : u.targets) {
        ResolvedTarget rt;
        rt.address = t.address;
        ASSERT_TRUE(parseIpLiteral(t.parsed.host, t.parsed.port, rt)) << t.address;
        resolved.push_back(rt);
      }
    }
    std::string error;
    snapshot_ = buildSnapshot(r.config, resolved, 1, metrics_.registry, store_, error);
    ASSERT_TRUE(snapshot_) << error;
    ctx_->adopt(snapshot_);
  }

  UpstreamRequest::Params params(bool idempotent = true, BodyFraming framing = BodyFraming::None) {
    UpstreamRequest::Params p;
    p.snapshot = snapshot_;
    p.upstream_index = 0;
    p.idempotent = idempotent;
    p.framing = framing;
    return p;
  }
  std::unique_ptr<UpstreamRequest> make(UpstreamRequest::Params p, Recorder& rec) {
    return std::make_unique<UpstreamRequest>(*ctx_, connector_, std::move(p), rec);
  }
  void startGet(std::string body = "", bool complete = true) {
    request_ = make(params(), rec_);
    request_->start(std::move(body), complete);
  }

  const UpstreamRuntime& upstream() const { return snapshot_->upstreams[0]; }
  balancer::TargetState& state(const std::string& address) {
    const UpstreamRuntime& u = upstream();
    for (size_t i = 0; i < u.targets.size(); ++i) {
      if (u.targets[i].address == address) return *u.target_states[i];
    }
    ADD_FAILURE() << "no target " << address;
    return *u.target_states[0];
  }
  int64_t now() { return static_cast<int64_t>(uv_now(&loop_)); }
  uint64_t retriesCounted() { return metrics_.upstream_retries_total.with({"api"}).value(); }
  int64_t budgetRetries() { return upstream().state->retries.retries(now()); }
  // Every try gave back what it took: active counts and max_requests slots.
  void expectNothingHeld() {
    const UpstreamRuntime& u = upstream();
    for (size_t i = 0; i < u.targets.size(); ++i) {
      EXPECT_EQ(u.target_states[i]->active(), 0) << u.targets[i].address;
    }
    EXPECT_EQ(u.state->active(), 0);
    EXPECT_EQ(u.state->requests.inFlight(), 0);
  }
  int64_t activeOf(const std::string& address) { return state(address).active(); }

  uv_loop_t loop_;
  Metrics metrics_;
  SharedState shared_;
  base::StateStore store_;
  std::unique_ptr<WorkerContext> ctx_;
  SnapshotPtr snapshot_;
  FakeConnector connector_;
  Recorder rec_;
  std::unique_ptr<UpstreamRequest> request_;
};

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
  EXPECT_EQ(rec_.head_targets, (std::vector<std::string>{t1, second.target}));
  EXPECT_EQ(activeOf(t1), 0);
  EXPECT_EQ(activeOf(second.target), 1);
  EXPECT_EQ(retriesCounted(), 1u);
  EXPECT_EQ(budgetRetries(), 0) << "a connect failure costs no retry budget";
  EXPECT_EQ(metrics_.upstream_connect_failures_total.with({"api", t1}).value(), 1u);
  // The default ejection (no passive_health, several targets): out after one connect failure.
  EXPECT_FALSE(state(t1).available(now()));
  second.connected();
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
// Verdicts: passive health and the circuit breaker

TEST_F(UpstreamRequestTest, PassiveHealthEjectsTheFailedTarget) {
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

TEST_F(UpstreamRequestTest, PassiveSuccessResetsTheRunOfFailures) {
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

TEST_F(UpstreamRequestTest, CircuitBreakerOpensAfterTheFailure) {
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

TEST_F(UpstreamRequestTest, A5xxAnswerCountsAsAFailureForTheBreaker) {
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

TEST_F(UpstreamRequestTest, OwnerDeletingTheRequestMidTryGivesEverythingBack) {
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

TEST_F(UpstreamRequestTest, OwnerDeletingTheRequestFromOnFailureIsSafe) {
  load(kThreeTargets + "    retries: {attempts: 0}\n");
  startGet();
  rec_.on_failure = [this] { request_.reset(); };
  connector_.at(0).connected();
  connector_.at(0).error(UpstreamError::Reset);
  EXPECT_EQ(rec_.failures, 1);
  EXPECT_FALSE(request_);
  expectNothingHeld();
}

TEST_F(UpstreamRequestTest, FailByTheOwnerJudgesTheTry) {
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

TEST_F(UpstreamRequestTest, NoTargetLeftIs503) {
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

TEST_F(UpstreamRequestTest, RetryWithNoOtherTargetKeepsTheOriginalFailure) {
  load("    targets: [{address: \"127.0.0.1:9001\"}]\n    retries: {attempts: 2}\n");
  startGet();
  connector_.at(0).connected();
  connector_.at(0).head(503);
  EXPECT_EQ(connector_.streams.size(), 1u);
  EXPECT_EQ(rec_.heads, std::vector<int>{503}) << "the upstream's own 503 goes through";
  EXPECT_EQ(retriesCounted(), 0u);
}

TEST_F(UpstreamRequestTest, MaxRequestsReachedIs503) {
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

TEST_F(UpstreamRequestTest, RetryThatFindsMaxRequestsHeldKeepsItsOwnSlot) {
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
}  // namespace sluice::proxy
