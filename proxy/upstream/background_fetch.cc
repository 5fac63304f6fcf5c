#include "proxy/upstream/background_fetch.h"

#include "proxy/http1/http_serialize.h"
#include "proxy/tls/tls_context.h"
#include "proxy/upstream/upstream_acquire.h"

namespace sluice::proxy {

namespace {
// How often an in-flight fetch looks whether the process started draining (then it gives up:
// a refresh is not worth holding the worker's shutdown for).
constexpr uint64_t kCheckMs = 200;
}  // namespace

void BackgroundFetch::start(WorkerContext& ctx, SnapshotPtr snapshot, int upstream_index,
                            base::RequestHead head, size_t max_body,
                            filters::BackgroundDone done) {
  auto* f = new BackgroundFetch(ctx, std::move(snapshot), std::move(head), max_body,
                                std::move(done));
  // The first tick of the timer starts the fetch, so `done` never runs inside start().
  f->check_->data = f;
  uv_timer_start(f->check_, onCheck, 0, kCheckMs);
  if (!f->pick(upstream_index)) f->upstream_ = nullptr;  // onCheck reports the failure
}

BackgroundFetch::BackgroundFetch(WorkerContext& ctx, SnapshotPtr snapshot,
                                 base::RequestHead head, size_t max_body,
                                 filters::BackgroundDone done)
    : ctx_(ctx),
      snapshot_(std::move(snapshot)),
      head_(std::move(head)),
      max_body_(max_body),
      done_(std::move(done)) {
  check_ = new uv_timer_t;
  uv_timer_init(ctx_.loop, check_);
}

BackgroundFetch::~BackgroundFetch() {
  uv_close(reinterpret_cast<uv_handle_t*>(check_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

// Chooses the target like Exchange::startTry (balancer and health, then the circuit breaker and
// max_requests); false when there is none to ask.
bool BackgroundFetch::pick(int upstream_index) {
  if (upstream_index < 0 || static_cast<size_t>(upstream_index) >= snapshot_->upstreams.size() ||
      ctx_.shared.draining.load(std::memory_order_relaxed)) {
    return false;
  }
  upstream_ = &snapshot_->upstreams[static_cast<size_t>(upstream_index)];
  const config::Upstream& uc = *upstream_->config;
  uint64_t excluded = 0;
  int64_t now = static_cast<int64_t>(uv_now(ctx_.loop));
  for (;;) {
    int pick = ctx_.pickTarget(*snapshot_, static_cast<size_t>(upstream_index), 0, excluded);
    if (pick < 0) return false;
    size_t i = static_cast<size_t>(pick);
    balancer::TargetState* ts = upstream_->target_states[i].get();
    if (uc.circuit_breaker) {
      ticket_ = ts->breaker.allow(now, *uc.circuit_breaker);
      if (!ticket_) {
        if (i >= 64) return false;
        excluded |= uint64_t{1} << i;
        continue;
      }
      if (!upstream_->state->requests.tryAcquire(uc.circuit_breaker->max_requests)) {
        ts->breaker.onAbandon(ticket_);
        ticket_ = {};
        return false;
      }
      gate_held_ = true;
    }
    target_ = &upstream_->targets[i];
    target_state_ = ts;
    ts->onRequestStart();
    started_ = true;
    return true;
  }
}

void BackgroundFetch::onCheck(uv_timer_t* t) {
  auto* self = static_cast<BackgroundFetch*>(t->data);
  if (self->t0_ == std::chrono::steady_clock::time_point{}) {  // the first tick: start
    self->t0_ = std::chrono::steady_clock::now();
    if (self->upstream_ == nullptr) {
      self->finish(Outcome::Dropped);
      return;
    }
    self->head_.headers.remove("expect");
    if (self->head_.host.empty()) self->head_.host = self->target_->address;
    self->connect(true);
    return;
  }
  if (self->ctx_.shared.draining.load(std::memory_order_relaxed)) {
    if (self->up_ != nullptr) {
      self->up_->abandon();
      self->up_ = nullptr;
    }
    self->finish(Outcome::Dropped);
  }
}

void BackgroundFetch::connect(bool allow_pooled) {
  bool pooled = false;
  up_ = acquireUpstream(ctx_, *upstream_, *target_, this, allow_pooled, pooled);
  if (up_ == nullptr) {
    onUpstreamError(UpstreamError::ConnectFailed, false);
    return;
  }
  if (pooled) sendHead();
}

void BackgroundFetch::sendHead() {
  reused_ = up_->reused();
  up_->beginRequest(head_.method == "HEAD");
  std::string out;
  appendRequestHead(head_, BodyFraming::None, 0, out);
  up_->requestComplete();
  uv_buf_t b = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
  up_->write(&b, 1);  // a failure reports through onUpstreamError (this may be gone then)
}

void BackgroundFetch::onUpstreamHead(base::ResponseHead& head, bool interim) {
  if (interim) return;
  if (head.status == 101) {  // nothing asked for an upgrade
    up_->abandon();
    up_ = nullptr;
    finish(Outcome::Failed);
    return;
  }
  response_.status = head.status;
  response_.headers = head.headers;
  // As a response reaches the filters of an Exchange: hop by hop fields gone, Via and Date set.
  base::HeaderMap& h = response_.headers;
  removeHopByHop(h, false);
  h.appendToList("via", "1.1 sluice");
  if (!h.has("date")) h.add("date", ctx_.httpDate());
}

void BackgroundFetch::onUpstreamBody(const char* data, size_t len) {
  if (overflow_) return;
  if (response_.body.size() + len > max_body_) {
    overflow_ = true;  // not wanted whole: the connection goes, the fetch fails
    std::string().swap(response_.body);
    up_->abandon();
    up_ = nullptr;
    finish(Outcome::Dropped);
    return;
  }
  response_.body.append(data, len);
}

void BackgroundFetch::onUpstreamComplete() {
  up_ = nullptr;  // back in the pool, or closed
  finish(Outcome::Answered);
}

void BackgroundFetch::onUpstreamError(UpstreamError error, bool response_started) {
  up_ = nullptr;  // closed by the connection itself
  // A pooled connection the upstream had closed meanwhile: sent again once on a fresh one.
  if (error == UpstreamError::Reset && !response_started && reused_ && !retried_) {
    retried_ = true;
    response_ = {};
    connect(false);
    return;
  }
  bool connect_failed =
      error == UpstreamError::ConnectFailed || error == UpstreamError::ConnectTimeout;
  finish(connect_failed ? Outcome::ConnectFailed : Outcome::Failed);
}

void BackgroundFetch::finish(Outcome outcome) {
  std::optional<filters::BackgroundResponse> result;
  bool answered = outcome == Outcome::Answered;
  bool failure = outcome == Outcome::Failed || outcome == Outcome::ConnectFailed ||
                 (answered && response_.status >= 500);
  if (started_) {
    const config::Upstream& uc = *upstream_->config;
    int64_t now = static_cast<int64_t>(uv_now(ctx_.loop));
    if (answered || failure) {
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      ctx_.countUpstream(uc.name, target_->address, answered ? response_.status : 0,
                         answered ? seconds : 0, outcome == Outcome::ConnectFailed);
    }
    if (uc.circuit_breaker && ticket_) {
      if (failure) {
        target_state_->breaker.onFailure(now, *uc.circuit_breaker, ticket_);
      } else if (answered) {
        target_state_->breaker.onSuccess(now, *uc.circuit_breaker, ticket_);
      } else {
        target_state_->breaker.onAbandon(ticket_);
      }
      ticket_ = {};
    }
    target_state_->onRequestEnd();
    if (gate_held_) upstream_->state->requests.release();
    if (answered) result = std::move(response_);
  }
  uv_timer_stop(check_);
  // `done` runs after this fetch is gone but while the snapshot (the route's filter factories)
  // is still held.
  SnapshotPtr keep = std::move(snapshot_);
  filters::BackgroundDone done = std::move(done_);
  delete this;
  done(std::move(result));
}

}  // namespace sluice::proxy
