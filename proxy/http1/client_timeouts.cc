// The connection's timeouts: the header, idle and body deadlines and the send timeout, all
// checked by the worker's sweep, and the release of an idle connection's parse state.
#include <algorithm>

#include "proxy/http1/client_connection.h"
#include "proxy/http2/http2_session.h"
#include "proxy/stream/exchange.h"

namespace sluice::proxy {

// Client timeouts are deadlines checked by the worker's sweep (WorkerContext::sweep) rather than
// one libuv timer per connection: arming and disarming a timer per request was a measurable share
// of a keep-alive request's CPU.
void ClientConnection::startHeadTimer() {
  deadline_ms_ = uv_now(ctx_.loop) +
                 static_cast<uint64_t>(ctx_.snapshot->config->limits.header_timeout.count());
}

// The kernel hands over a silent connection on a deferred listener only after holding it about a
// second (its first SYN-ACK retransmission): header_timeout counts from the connect for it, as it
// would without the deferral. A connection that spoke at once gets the second back (onRead, or
// checkDeadline when its bytes wait for this loop iteration's reads). Not on the ring, whose
// queued receives FIONREAD cannot see.
void ClientConnection::startFirstHeadTimer(bool deferred) {
  startHeadTimer();
  if (!deferred || io_.onRing()) return;
  uint64_t timeout = static_cast<uint64_t>(ctx_.snapshot->config->limits.header_timeout.count());
  deferral_credit_ms_ = static_cast<uint16_t>(std::min<uint64_t>(kDeferredAcceptHoldMs, timeout));
  deadline_ms_ -= deferral_credit_ms_;
}

void ClientConnection::giveBackDeferral() {
  deadline_ms_ += deferral_credit_ms_;
  deferral_credit_ms_ = 0;
}

void ClientConnection::startIdleTimer() {
  deadline_ms_ =
      uv_now(ctx_.loop) + static_cast<uint64_t>(ctx_.snapshot->config->limits.idle_timeout.count());
}

uint64_t ClientConnection::bodyDeadline() const {
  return uv_now(ctx_.loop) +
         static_cast<uint64_t>(ctx_.snapshot->config->limits.idle_timeout.count());
}

// A client that takes no bytes of a queued response for limits.send_timeout is cut (its exchange
// logs the response as incomplete). Returns true when it was.
// Only this connection's own fields are read here (the write paths keep write_progress_ms_).
bool ClientConnection::checkSendTimeout(uint64_t now_ms) {
  if (write_progress_ms_ == 0 || io_.closing()) {
    return false;
  }
  uint64_t limit = static_cast<uint64_t>(ctx_.snapshot->config->limits.send_timeout.count());
  if (now_ms - write_progress_ms_ < limit) return false;
  if (exchange_) exchange_->onClientSendTimeout();
  abort();
  return true;
}

void ClientConnection::checkDeadline(uint64_t now_ms) {
  if (lingering_) {
    if (deadline_ms_ != 0 && now_ms >= deadline_ms_) abort();  // the client never closed
    return;
  }
  if (checkSendTimeout(now_ms)) return;
  if (state_ == State::Http2) {
    h2_->checkDeadline(now_ms);
    return;
  }
  // Idle at two sweeps in a row: the parse state is freed (here rather than at every response's
  // end, where the next request usually follows at once and would make one again).
  if (state_ == State::Head) releaseParseIfIdle();
  if (deadline_ms_ == 0 || now_ms < deadline_ms_) return;
  if (state_ == State::Exchange) {
    // A request body that stopped coming (nginx's client_body_timeout): 408, or a close when
    // the response has begun. Not while sluice itself stopped reading (backpressure).
    if (message_done_ || !exchange_) {
      deadline_ms_ = 0;
    } else if (!reading_) {
      deadline_ms_ = bodyDeadline();
    } else {
      deadline_ms_ = 0;
      exchange_->onRequestError(408);
      if (state_ != State::Closing) closeAfterWrites();
    }
    return;
  }
  if (state_ != State::Head) return;
  if (deferral_credit_ms_ != 0 && io_.bytesWaiting()) {  // spoke: not the silent one
    giveBackDeferral();
    return;
  }
  deadline_ms_ = 0;
  if (req_ && req_->head_bytes > 0) {
    rejectRequest(408);  // slowloris: the head did not arrive in time
  } else {
    abort();  // idle keep-alive connection, or one that never sent a byte
  }
}

void ClientConnection::releaseParseIfIdle() {
  bool idle = req_ && state_ == State::Head && !exchange_ && !in_parse_ && !parser_paused_ &&
              !upgrade_paused_ && req_->pending.empty() && req_->head_bytes == 0 &&
              req_->line_buf.empty();
  if (!idle) {
    idle_at_sweep_ = false;
  } else if (!idle_at_sweep_) {
    idle_at_sweep_ = true;  // maybe only between two requests: freed if still idle at the next
  } else {
    req_.reset();
    --ctx_.parse_states;
    idle_at_sweep_ = false;
  }
}

}  // namespace sluice::proxy
