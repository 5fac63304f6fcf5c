#include "proxy/upstream/upstream_request.h"

#include <charconv>

#include "proxy/runtime/status_windows.h"
#include "proxy/runtime/worker_context.h"
#include "proxy/upstream/retry_wait.h"
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
    case UpstreamError::ConnectTimeout:
    case UpstreamError::Refused:
      return "connect_failure";
    case UpstreamError::ResponseTimeout:
      return "timeout";
    case UpstreamError::Reset:
    case UpstreamError::BadResponse:
      return "reset";
  }
  return "reset";
}

const char* refusalMessage(UpstreamAttempt::Refusal r) {
  switch (r) {
    case UpstreamAttempt::Refusal::MaxRequests:
      return "upstream at max_requests";
    case UpstreamAttempt::Refusal::CircuitOpen:
      return "circuit open";
    case UpstreamAttempt::Refusal::NoTarget:
    case UpstreamAttempt::Refusal::None:
      break;
  }
  return "no healthy upstream target";
}

}  // namespace

UpstreamStream* PoolConnector::acquire(const UpstreamRuntime& upstream,
                                       const ResolvedTarget& target, UpstreamHandler* handler,
                                       bool allow_pooled, bool& ready) {
  return acquireUpstream(ctx_, upstream, target, handler, allow_pooled, ready);
}

UpstreamRequest::UpstreamRequest(WorkerContext& ctx, UpstreamConnector& connector, Params params,
                                 UpstreamRequestCallbacks& callbacks)
    : ctx_(ctx),
      connector_(connector),
      params_(std::move(params)),
      upstream_(params_.snapshot->upstreams[params_.upstream_index]),
      callbacks_(callbacks) {}

UpstreamRequest::~UpstreamRequest() {
  if (alive_) *alive_ = false;
  dropStream();
}

void UpstreamRequest::countTry(int status, double seconds, bool connect_failed, bool retried) {
  // A retried answer is observed as 0 s in the duration histogram, as before; the windows take
  // its latency.
  ctx_.countUpstream(upstream_.config->name, target_->address, status, retried ? 0 : seconds,
                     connect_failed);
  // The status page's rolling windows of the target (of this try's snapshot).
  size_t i = static_cast<size_t>(target_ - upstream_.targets.data());
  if (i < upstream_.target_windows.size()) {
    upstream_.target_windows[i]->record(static_cast<size_t>(ctx_.index),
                                        static_cast<int64_t>(uv_now(ctx_.loop)), status, seconds);
  }
}

int64_t UpstreamRequest::now() const {
  return static_cast<int64_t>(uv_now(ctx_.loop));
}

void UpstreamRequest::start(std::string body, bool body_complete) {
  const config::Retries& r = upstream_.config->retries;
  body_done_ = body_complete;
  body_resendable_ = body_complete;
  start_ms_ = now();
  if (body_complete && r.attempts > 0 && !body.empty()) retry_body_ = body;
  pending_body_ = std::move(body);
  if (r.deadline) {
    // Without the timer (logged) the per-try timeouts still bound the request.
    if (deadline_.init(ctx_.loop, "retries.deadline",
                       [this] { fail(UpstreamError::ResponseTimeout); })) {
      deadline_.start(static_cast<uint64_t>(r.deadline->count()));
    }
  }
  if (params_.try_timeout.count() > 0 &&
      !try_timer_.init(ctx_.loop, "grpc-timeout", [this] { onTryTimeout(); })) {
    params_.try_timeout = std::chrono::milliseconds(0);  // logged: the upstream's timeouts hold
  }
  if (!startTry()) return;
  upstream_.state->retries.onRequest(now());
  connect(true);
}

// The try ran out of its own time (grpc-timeout): the caller's deadline has passed, so there is
// no retry; a 504 (or a cut response when it had begun).
void UpstreamRequest::onTryTimeout() {
  fail(UpstreamError::ResponseTimeout);
}

// Picks the try's target and serialises its head; false when none is left (the owner heard
// onFailure: 503).
bool UpstreamRequest::startTry() {
  UpstreamAttempt::Refusal refusal;
  attempt_ = UpstreamAttempt::begin(ctx_, *params_.snapshot, params_.upstream_index, params_.hash,
                                    excluded_, now(), refusal);
  if (!attempt_) {
    UpstreamFailure f;
    f.status = 503;
    f.message = refusalMessage(refusal);
    giveUp(f);
    return false;
  }
  target_ = &attempt_.target();
  ++tries_;
  try_start_ = std::chrono::steady_clock::now();
  callbacks_.onTryStart(*target_, try_start_);
  if (try_timer_) try_timer_.start(static_cast<uint64_t>(params_.try_timeout.count()));
  head_sent_ = false;
  body_sent_done_ = false;
  return true;
}

void UpstreamRequest::connect(bool allow_pooled) {
  bool ready = false;
  stream_ = connector_.acquire(upstream_, *target_, this, allow_pooled, ready);
  if (stream_ == nullptr) {
    onUpstreamError(UpstreamError::ConnectFailed, false);
    return;
  }
  if (ready) sendHead();
}

void UpstreamRequest::sendHead() {
  head_sent_ = true;
  stream_reused_ = stream_->reused();
  // The body at hand goes with the head; a retry refills pending_body_ from retry_body_.
  std::string body = std::move(pending_body_);
  pending_body_.clear();
  bool end = body_done_;
  body_sent_done_ = end;
  if (!body.empty()) {
    std::shared_ptr<bool> alive = aliveToken();
    callbacks_.onRequestDrained();
    if (!*alive || stream_ == nullptr) return;
  }
  RequestStart start;
  start.head = &callbacks_;
  start.target = target_;
  start.framing = params_.framing;
  start.length = params_.length;
  start.head_request = params_.head_only;
  stream_->sendRequest(start, body, end, trailers_);  // a failure reports through onUpstreamError
}

std::shared_ptr<bool> UpstreamRequest::aliveToken() {
  if (!alive_) alive_ = std::make_shared<bool>(true);
  return alive_;
}

bool UpstreamRequest::sendBody(const char* data, size_t len) {
  if (given_up_) return false;
  if (stream_ == nullptr || !head_sent_) {
    pending_body_.append(data, len);
    return true;
  }
  std::shared_ptr<bool> alive = aliveToken();
  writeBody(data, len);
  return *alive && !given_up_;
}

void UpstreamRequest::writeBody(const char* data, size_t len) {
  stream_->sendBody(data, len);  // a failure reports through onUpstreamError
}

bool UpstreamRequest::endBody() {
  if (given_up_) return false;
  body_done_ = true;
  if (stream_ == nullptr || !head_sent_ || body_sent_done_) return true;
  body_sent_done_ = true;
  std::shared_ptr<bool> alive = aliveToken();
  stream_->endRequest(trailers_);
  return *alive && !given_up_;
}

void UpstreamRequest::onUpstreamHead(base::ResponseHead& head, bool interim) {
  if (interim) {
    callbacks_.onResponseHead(head, true);
    return;
  }
  status_ = head.status;
  if (head.status != 101) {
    // A status `retries.on` names (a 5xx, or a 4xx such as 429) goes to another target when
    // allowed (the head is dropped), after the back-off or its Retry-After; a Retry-After that
    // does not fit the deadline sends the answer on instead. A 5xx counts as the target's failure.
    bool failure = head.status >= 500;
    attempt_.judge(failure ? TryVerdict::Failure : TryVerdict::Success, now());
    if (head.status >= 400) {
      char code[8];
      auto r = std::to_chars(code, code + sizeof code, head.status);
      std::optional<int64_t> wait =
          retryWaitMs(*upstream_.config, tries_, &head, now() - start_ms_);
      if (wait && mayRetry(std::string_view(code, static_cast<size_t>(r.ptr - code)))) {
        countTry(head.status, secondsSince(try_start_), false, true);
        dropStream();  // its response is not wanted
        callbacks_.onTryRetried(head.status, {});
        retry(*wait);
        return;
      }
    }
  }
  head_delivered_ = true;
  head_at_ = std::chrono::steady_clock::now();
  callbacks_.onResponseHead(head, false);
}

void UpstreamRequest::onUpstreamBody(const char* data, size_t len) {
  callbacks_.onResponseBody(data, len);
}

void UpstreamRequest::onUpstreamComplete() {
  stream_ = nullptr;  // already back in the pool, or closed
  countTry(status_, headSeconds(), false);
  attempt_.end();
  if (deadline_) deadline_.stop();
  if (try_timer_) try_timer_.stop();
  callbacks_.onResponseComplete();
}

void UpstreamRequest::onUpstreamError(UpstreamError error, bool response_started) {
  stream_ = nullptr;                        // closed by the stream itself
  if (head_delivered_ && status_ == 101) {  // a tunnel's end by failure: nothing to judge
    UpstreamFailure f;
    f.error = error;
    f.response_begun = true;
    giveUp(f);
    return;
  }
  // A pooled connection the upstream had closed: nothing of the response arrived, so an
  // idempotent request without a body is sent again once, on a fresh connection to the same
  // target (not a retry: the target did nothing wrong).
  if (error == UpstreamError::Reset && !response_started && stream_reused_ && !stale_resent_ &&
      !head_delivered_ && params_.framing == BodyFraming::None && params_.idempotent) {
    stale_resent_ = true;
    head_sent_ = false;
    body_sent_done_ = false;
    connect(false);
    return;
  }
  // Not processed by the upstream (an HTTP/2 GOAWAY or REFUSED_STREAM): sent again to the same
  // target, on another connection, with no verdict and no budget (bounded).
  if (error == UpstreamError::Refused && !head_delivered_ && refused_resends_ < 3 &&
      (params_.framing == BodyFraming::None || (body_resendable_ && !retry_body_.empty()))) {
    ++refused_resends_;
    pending_body_ = retry_body_;
    head_sent_ = false;
    body_sent_done_ = false;
    connect(true);
    return;
  }
  bool connect_failed = error == UpstreamError::ConnectFailed ||
                        error == UpstreamError::ConnectTimeout || error == UpstreamError::Refused;
  countTry(0, 0, connect_failed);
  attempt_.judge(connect_failed ? TryVerdict::ConnectFailure : TryVerdict::Failure, now());
  std::optional<int64_t> wait;
  if (!head_delivered_) wait = retryWaitMs(*upstream_.config, tries_, nullptr, now() - start_ms_);
  if (wait && mayRetry(conditionOf(error))) {
    callbacks_.onTryRetried(0, conditionOf(error));
    retry(*wait);
    return;
  }
  UpstreamFailure f;
  f.status = error == UpstreamError::ResponseTimeout ? 504 : 502;
  f.error = error;
  f.response_begun = head_delivered_;
  giveUp(f);
}

void UpstreamRequest::fail(UpstreamError error) {
  if (given_up_) return;
  dropStream();
  attempt_.judge(TryVerdict::Failure, now());
  UpstreamFailure f;
  f.status = error == UpstreamError::ResponseTimeout ? 504 : 502;
  f.error = error;
  f.response_begun = head_delivered_;
  giveUp(f);
}

// Whether a failed try may be tried again on another target; when true, the retry is counted
// in the budget. A connect failure costs no budget: nothing reached the target, so the retry
// adds no load to an overloaded fleet.
bool UpstreamRequest::mayRetry(std::string_view condition) {
  const config::Retries& r = upstream_.config->retries;
  if (!params_.retry || head_delivered_ || given_up_ || tries_ > r.attempts ||
      !retryOn(r, condition)) {
    return false;
  }
  if (!body_resendable_ && params_.framing != BodyFraming::None) return false;
  if (!r.retry_non_idempotent && !params_.idempotent) return false;
  // Another target must be there, or the original failure stands.
  uint64_t mask = excluded_ | attempt_.targetBit();
  if (ctx_.pickTarget(*params_.snapshot, params_.upstream_index, params_.hash, mask) < 0) {
    return false;
  }
  if (condition == "connect_failure") return true;
  return upstream_.state->retries.tryAcquire(now(), r.budget);
}

void UpstreamRequest::retry(int64_t wait_ms) {
  excluded_ |= attempt_.targetBit();
  attempt_.end();  // a waiting request holds no slot, ticket nor target
  ctx_.metrics.upstream_retries_total.with({upstream_.config->name}).inc();
  pending_body_ = retry_body_;
  if (wait_ms > 0) {
    // Closed with this request (a client gone meanwhile): the next try is then never made.
    if ((backoff_ || backoff_.init(ctx_.loop, "retries.backoff", [this] { nextTry(); })) &&
        backoff_.start(static_cast<uint64_t>(wait_ms))) {
      return;
    }  // logged: retry at once
  }
  nextTry();
}

void UpstreamRequest::nextTry() {
  if (!startTry()) return;  // answered 503
  connect(true);
}

void UpstreamRequest::giveUp(const UpstreamFailure& failure) {
  given_up_ = true;
  attempt_.end();
  if (deadline_) deadline_.stop();
  if (backoff_) backoff_.stop();
  if (try_timer_) try_timer_.stop();
  callbacks_.onFailure(failure);  // may delete this
}

void UpstreamRequest::dropStream() {
  if (stream_ != nullptr) {
    stream_->abandon();
    stream_ = nullptr;
  }
}

size_t UpstreamRequest::queuedBytes() const {
  return pending_body_.size() + (stream_ != nullptr ? stream_->queuedBytes() : 0);
}

void UpstreamRequest::pauseReading() {
  if (stream_ != nullptr) stream_->pauseReading();
}

void UpstreamRequest::resumeReading() {
  if (stream_ != nullptr) stream_->resumeReading();
}

void UpstreamRequest::startTunnel() {
  if (stream_ != nullptr) stream_->startTunnel();
}

bool UpstreamRequest::writeTunnel(const char* data, size_t len) {
  if (stream_ == nullptr) return false;
  return stream_->writeTunnel(data, len);
}

void UpstreamRequest::shutdownWrite() {
  if (stream_ != nullptr) stream_->shutdownWrite();
}

void UpstreamRequest::onUpstreamTunnelData(const char* data, size_t len) {
  if (len == 0) stream_ = nullptr;  // the upstream closed its side; the stream closes itself
  callbacks_.onTunnelData(data, len);
}

}  // namespace sluice::proxy
