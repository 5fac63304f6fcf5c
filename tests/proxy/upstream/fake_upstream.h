// The test double of an upstream for UpstreamRequest tests: a fake connector whose fake streams
// record what is written and let the test play the upstream (connected, head, body, complete,
// error), a recording owner, and a fixture with a real loop, WorkerContext and a Snapshot built
// from YAML (IP-literal targets: nothing resolves). Used by upstream_request_test.cc and
// upstream_attempt_test.cc.
#pragma once

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
#include "proxy/upstream/http1_request_framing.h"
#include "proxy/upstream/resolver.h"
#include "proxy/upstream/upstream_request.h"

namespace sluice::proxy::test {

class FakeConnector;

// One stream the connector handed out. The test plays the upstream through the handler; the
// stream records what the request side did to it.
struct FakeStream final : UpstreamStream, Http1RequestSink {
  UpstreamHandler* handler = nullptr;
  std::string target;  // the address it was acquired for
  bool allow_pooled = false;
  bool is_reused = false;
  // Plays an HTTP/2 stream: takes the structured head instead of HTTP/1.1 bytes, and records
  // the body and trailers unframed.
  bool structured = false;
  std::string written;          // HTTP/1.1: the framed bytes; structured: the body
  base::RequestHead sent_head;  // structured: the head as the stream got it
  base::HeaderMap sent_trailers;
  RequestStart start;
  bool began = false;
  bool request_complete = false;
  bool abandoned = false;
  bool ended = false;  // complete or error was reported (the stream is gone)

  bool reused() const override { return is_reused; }
  void sendRequest(const RequestStart& s, std::string_view body, bool end,
                   const base::HeaderMap& trailers) override {
    EXPECT_FALSE(began) << "a second head on one stream";
    began = true;
    start = s;
    request_complete = end;
    if (structured) {
      base::RequestHead scratch;
      sent_head = s.head->requestHead(*s.target, scratch);
      written.append(body);
      if (end) sent_trailers = trailers;
      return;
    }
    std::string buf;
    writeHttp1RequestStart(*this, s, body, end, trailers, buf);
  }
  bool sendBody(const char* data, size_t len) override {
    if (structured) {
      written.append(data, len);
      return true;
    }
    return writeHttp1RequestBody(*this, start.framing, data, len);
  }
  bool endRequest(const base::HeaderMap& trailers) override {
    EXPECT_FALSE(request_complete) << "the request ended twice";
    request_complete = true;
    if (structured) {
      sent_trailers = trailers;
      return true;
    }
    return writeHttp1RequestEnd(*this, start.framing, trailers);
  }
  bool writeTunnel(const char* data, size_t len) override {
    uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
    return writeBytes(&b, 1);
  }
  bool writeBytes(const uv_buf_t* bufs, unsigned count) override {
    EXPECT_FALSE(abandoned || ended) << "write on a stream that is gone";
    for (unsigned i = 0; i < count; ++i) written.append(bufs[i].base, bufs[i].len);
    return true;
  }
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
  bool structured = false;  // hand out streams that play HTTP/2 (FakeStream::structured)
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
    s->structured = structured;
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
  // As an Exchange whose head is written directly: the edits go on a copy.
  const base::RequestHead& requestHead(const ResolvedTarget& target,
                                       base::RequestHead& scratch) override {
    head_targets.push_back(target.address);
    scratch.method = method;
    scratch.target = "/";
    scratch.host = "t";
    scratch.headers.add("x-edited", "1");
    return scratch;
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

inline const config::LoadOptions kNoFileChecks{false, nullptr};

// `upstream` is the YAML of the upstream's keys after its name (indented 4 spaces).
inline std::string configYaml(const std::string& upstream) {
  return "listeners:\n"
         "  - {name: public, address: \"127.0.0.1:8080\"}\n"
         "upstreams:\n"
         "  - name: api\n" +
         upstream +
         "routes:\n"
         "  - {name: all, match: {path_prefix: /}, upstream: api}\n";
}

inline const std::string kThreeTargets =
    "    targets: [{address: \"127.0.0.1:9001\"}, {address: \"127.0.0.1:9002\"},\n"
    "              {address: \"127.0.0.1:9003\"}]\n";

class UpstreamFixture : public ::testing::Test {
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
    p.snapshot = snapshot_.get();
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

}  // namespace sluice::proxy::test
