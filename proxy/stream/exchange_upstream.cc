// The upstream side of an Exchange: choosing a target (balancer, circuit breaker, max_requests),
// one try after another (retries on another target, per-try timeout, overall deadline, retry
// budget), and reporting each try's outcome to the shared target state (active count, breaker,
// passive ejection).
#include <charconv>

#include "balancer/hash.h"
#include "proxy/stream/exchange.h"
#include "proxy/stream/hash_key.h"
#include "proxy/runtime/log.h"
#include "proxy/tls/tls_context.h"
#include "proxy/upstream/upstream_acquire.h"

namespace sluice::proxy {

namespace {
// A response timeout is reported as "timeout"; the config may name it `timeout` or `504`.
bool retryOn(const config::Retries& r, std::string_view condition) {
  for (const std::string& c : r.on) {
    if (c == condition || (condition == "timeout" && c == "504")) return true;
  }
  return false;
}

const char* conditionOf(UpstreamError e) {
  switch (e) {
    case UpstreamError::ConnectFailed:
    case UpstreamError::ConnectTimeout: return "connect_failure";
    case UpstreamError::ResponseTimeout: return "timeout";
    case UpstreamError::Reset:
    case UpstreamError::BadResponse: return "reset";
  }
  return "reset";
}
}  // namespace

void Exchange::forward() {
  if (upstream_ == nullptr) {  // a route without upstream whose filters did not answer
    sendLocalReply(500, "", nullptr);
    return;
  }
  const config::Upstream& uc = *upstream_->config;
  if (uc.circuit_breaker) {
    if (!upstream_->state->requests.tryAcquire(uc.circuit_breaker->max_requests)) {
      sendError(503, "upstream at max_requests", nullptr);
      return;
    }
    gate_held_ = true;
  }
  if (uc.balancer == "consistent_hash") {
    hash_ = balancer::hashKey(hashKeyText(uc.hash_key, conn_.clientIp(), head_, original_target_));
  }
  if (meta_.expect_continue) writeClient("HTTP/1.1 100 Continue\r\n\r\n");
  // Like nginx's request buffering, but bounded: a body is gathered until it is complete or
  // kBodyBufferLimit is reached before the upstream hears of the request, so a request whose
  // body turns out malformed (a bad chunk size) is never forwarded at all.
  if (!request_done_ && pending_body_.size() < kBodyBufferLimit) {
    awaiting_body_ = true;
    return;
  }
  dispatch();
}

void Exchange::dispatch() {
  awaiting_body_ = false;
  const config::Upstream& uc = *upstream_->config;
  // A body that is here whole can be sent again on a retry; a streamed one cannot.
  can_resend_body_ = request_done_;
  if (can_resend_body_ && uc.retries.attempts > 0) retry_body_ = pending_body_;
  if (uc.retries.deadline && deadline_timer_ == nullptr) {
    deadline_timer_ = new uv_timer_t;
    uv_timer_init(ctx_.loop, deadline_timer_);
    deadline_timer_->data = this;
    uv_timer_start(
        deadline_timer_,
        [](uv_timer_t* t) {
          auto* self = static_cast<Exchange*>(t->data);
          if (!self->finished_) self->failUpstream(UpstreamError::ResponseTimeout);
        },
        static_cast<uint64_t>(uc.retries.deadline->count()), 0);
  }
  if (!startTry()) return;
  upstream_->state->retries.onRequest(static_cast<int64_t>(uv_now(ctx_.loop)));
  connectUpstream(true);
}

// Picks the try's target: the balancer's choice, skipping targets whose breaker is open.
bool Exchange::startTry() {
  const config::Upstream& uc = *upstream_->config;
  size_t ui = static_cast<size_t>(route_->upstream);
  int64_t now = static_cast<int64_t>(uv_now(ctx_.loop));
  for (;;) {
    int pick = ctx_.pickTarget(*snapshot_, ui, hash_, excluded_);
    if (pick < 0) {
      sendError(503, "no healthy upstream target", nullptr);
      return false;
    }
    size_t i = static_cast<size_t>(pick);
    balancer::TargetState* ts = upstream_->target_states[i].get();
    if (uc.circuit_breaker) {
      ticket_ = ts->breaker.allow(now, *uc.circuit_breaker);
      if (!ticket_) {
        excluded_ |= i < 64 ? (uint64_t{1} << i) : 0;
        if (i >= 64) {  // cannot be excluded by the mask: no other choice is guaranteed
          sendError(503, "circuit open", nullptr);
          return false;
        }
        continue;
      }
    }
    target_index_ = pick;
    target_ = &upstream_->targets[i];
    target_state_ = ts;
    ts->onRequestStart();
    try_active_ = true;
    ++tries_;
    if (head_.host.empty()) head_.host = target_->address;  // an HTTP/1.0 client sent no Host
    upstream_head_.clear();
    upstream_head_.reserve(512);  // one allocation instead of a growth per few fields
    if (direct_head_) {
      appendProxiedRequestHead(head_, proxiedRequestFields(), meta_.framing, meta_.content_length,
                               upstream_head_);
    } else {
      appendRequestHead(head_, meta_.framing, meta_.content_length, upstream_head_);
    }
    if (upstream_->config->keepalive == 0 && !meta_.upgrade) {
      // No pooling: say so (RFC 9112 §9.6), before the head's final empty line.
      upstream_head_.insert(upstream_head_.size() - 2, "connection: close\r\n");
    }
    upstream_start_ = std::chrono::steady_clock::now();
    return true;
  }
}

// Without a passive_health section (or active checks) a refused or timed-out connection still
// ejects its target for 10 s, doubling while it stays down (nginx: max_fails=1 fail_timeout=10s):
// nothing reached it, and every later pick would pay a connect attempt (or a connect timeout)
// before going elsewhere.
constexpr config::PassiveHealth kConnectFailureEjection{1, config::Duration{10'000}, 50};

// Reports the try's verdict to the breaker and passive health (once per try).
void Exchange::judgeTry(bool failure, bool connect_failure) {
  if (!try_active_ || judged_) return;
  judged_ = true;
  const config::Upstream& uc = *upstream_->config;
  int64_t now = static_cast<int64_t>(uv_now(ctx_.loop));
  if (uc.circuit_breaker && ticket_) {
    if (failure) {
      target_state_->breaker.onFailure(now, *uc.circuit_breaker, ticket_);
    } else {
      target_state_->breaker.onSuccess(now, *uc.circuit_breaker, ticket_);
    }
    ticket_ = {};
  }
  // (As nginx, never for a lone target: there is nowhere else to go; and not where active
  // checks watch the targets: they take a dead one out and bring it back as soon as it answers.)
  const bool default_ejection =
      connect_failure && !uc.health_check && upstream_->targets.size() > 1;
  const config::PassiveHealth* passive = uc.passive_health ? &*uc.passive_health
                                         : default_ejection ? &kConnectFailureEjection
                                                            : nullptr;
  if (passive == nullptr) return;
  if (!failure) {
    target_state_->onPassiveSuccess();
  } else if (target_state_->onPassiveFailure(now, *passive, upstream_->targets.size())) {
    logWarn("upstream " + uc.name + ": target " + target_->address + " ejected after " +
            std::to_string(passive->consecutive_failures) + " failure(s)");
  }
}

// The try is over (any outcome): active counts and held slots are given back.
void Exchange::endTry() {
  if (!try_active_) return;
  if (!judged_ && ticket_) target_state_->breaker.onAbandon(ticket_);
  ticket_ = {};
  target_state_->onRequestEnd();
  try_active_ = false;
  judged_ = false;
}

// Whether a failed try may be tried again on another target; when true, the retry is counted in
// the budget and the caller must go on with startRetry(). A connect failure costs no budget:
// nothing reached the target, so the retry adds no load to an overloaded fleet.
bool Exchange::reserveRetry(std::string_view condition) {
  const config::Upstream& uc = *upstream_->config;
  const config::Retries& r = uc.retries;
  if (response_started_ || finished_ || tries_ > r.attempts || !retryOn(r, condition)) return false;
  if (!can_resend_body_ && meta_.framing != BodyFraming::None) return false;
  if (!r.retry_non_idempotent && !base::isIdempotentMethod(head_.method)) return false;
  uint64_t mask = excluded_;
  if (target_index_ >= 0 && target_index_ < 64) mask |= uint64_t{1} << target_index_;
  // Another target must be there, or the original failure stands.
  if (ctx_.pickTarget(*snapshot_, static_cast<size_t>(route_->upstream), hash_, mask) < 0) {
    return false;
  }
  if (condition == "connect_failure") return true;
  return upstream_->state->retries.tryAcquire(static_cast<int64_t>(uv_now(ctx_.loop)), r.budget);
}

void Exchange::startRetry() {
  if (target_index_ >= 0 && target_index_ < 64) excluded_ |= uint64_t{1} << target_index_;
  endTry();
  ctx_.metrics.upstream_retries_total.with({upstream_->config->name}).inc();
  head_sent_ = false;
  upstream_sent_done_ = false;
  pending_body_ = retry_body_;
  if (!startTry()) return;  // answered 503
  connectUpstream(true);
}

void Exchange::connectUpstream(bool allow_pooled) {
  bool pooled = false;
  up_ = acquireUpstream(ctx_, *upstream_, *target_, this, allow_pooled, pooled);
  if (up_ == nullptr) {
    onUpstreamError(UpstreamError::ConnectFailed, false);
    return;
  }
  if (pooled) sendRequestHead();
}

void Exchange::onUpstreamError(UpstreamError error, bool response_started) {
  up_ = nullptr;  // closed by the connection itself
  if (finished_) return;
  if (tunnel_) {
    conn_.abort();
    return;
  }
  // A pooled connection the upstream had closed: nothing of the response arrived, so an
  // idempotent request without a body is sent again once, on a fresh connection to the same
  // target (not a retry: the target did nothing wrong).
  if (error == UpstreamError::Reset && !response_started && up_reused_ && !stale_retried_ &&
      !response_started_ && meta_.framing == BodyFraming::None &&
      base::isIdempotentMethod(head_.method)) {
    stale_retried_ = true;
    head_sent_ = false;
    upstream_sent_done_ = false;
    connectUpstream(false);
    return;
  }
  bool connect = error == UpstreamError::ConnectFailed || error == UpstreamError::ConnectTimeout;
  ctx_.countUpstream(upstream_->config->name, target_->address, 0, 0, connect);
  judgeTry(true, connect);
  if (!response_started_ && reserveRetry(conditionOf(error))) {
    startRetry();
    return;
  }
  failUpstream(error);
}

// The request fails with the status for `error` (or the client connection is cut when half a
// response already went out).
void Exchange::failUpstream(UpstreamError error) {
  upstream_failure_ = upstreamErrorName(error);
  if (up_ != nullptr) {
    up_->abandon();
    up_ = nullptr;
  }
  if (try_active_) {
    judgeTry(true, false);
    endTry();
  }
  if (response_started_ && !response_flushed_ && !chain_.wantsResponseHeaders()) {
    // The head still waits in out_ for the rest of the same read (e.g. a bad chunk right
    // behind it): nothing went out, so the client gets a 502 instead.
    bytes_sent_ -= out_.size();
    out_.clear();
    response_started_ = false;
  }
  if (response_started_) {
    keep_alive_ = false;
    termination_ = error == UpstreamError::ResponseTimeout ? "upstream_timeout" : "upstream_reset";
    conn_.abort();  // half a response went out: the client must see the connection fail
    return;
  }
  int status = error == UpstreamError::ResponseTimeout ? 504 : 502;
  sendLocalReply(status, "", nullptr);
}

// A final response head arrived: a status the upstream's `retries.on` names is retried on
// another target when allowed (returns true: the head is dropped); otherwise 5xx counts as the
// target's failure and the response goes to the client.
bool Exchange::judgeResponse(int status) {
  bool failure = status >= 500;
  judgeTry(failure, false);
  if (!failure) return false;
  char code[8];
  auto r = std::to_chars(code, code + sizeof code, status);
  if (!reserveRetry(std::string_view(code, static_cast<size_t>(r.ptr - code)))) return false;
  ctx_.countUpstream(upstream_->config->name, target_->address, status, 0, false);
  if (up_ != nullptr) {
    up_->abandon();  // its response is not wanted
    up_ = nullptr;
  }
  startRetry();
  return true;
}

}  // namespace sluice::proxy
