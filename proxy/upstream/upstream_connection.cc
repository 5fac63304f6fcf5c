#include "proxy/upstream/upstream_connection.h"

#include <arpa/inet.h>

#include <cstring>

#include "proxy/net/read_buffer.h"
#include "proxy/net/uv_handle.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_session.h"
#include "proxy/upstream/upstream_pool.h"

namespace sluice::proxy {

const char* upstreamErrorName(UpstreamError e) {
  switch (e) {
    case UpstreamError::ConnectFailed:
      return "connect_failure";
    case UpstreamError::ConnectTimeout:
      return "connect_timeout";
    case UpstreamError::ResponseTimeout:
      return "response_timeout";
    case UpstreamError::Reset:
      return "reset";
    case UpstreamError::BadResponse:
      return "bad_response";
    case UpstreamError::Refused:
      return "refused";
  }
  return "unknown";
}

UpstreamConnection::UpstreamConnection(uv_loop_t* loop, UpstreamPool* pool, std::string address)
    : loop_(loop), pool_(pool), target_address_(std::move(address)) {
  llhttp_init(&parser_, HTTP_RESPONSE, settings());
  parser_.data = this;
}

UpstreamConnection::~UpstreamConnection() {
  pool_->untrack(this);
}

UpstreamConnection* UpstreamConnection::connect(uv_loop_t* loop, UpstreamPool* pool,
                                                const ResolvedTarget& target,
                                                const Timeouts& timeouts, UpstreamHandler* handler,
                                                const TlsClientContext* tls,
                                                const std::string& server_name) {
  auto* c = new UpstreamConnection(loop, pool, target.address);
  c->pool_key_ = proxy::poolKey(target.address, tls, server_name);
  if (tls != nullptr) {
    in6_addr probe{};
    bool is_ip = inet_pton(AF_INET, server_name.c_str(), &probe) == 1 ||
                 inet_pton(AF_INET6, server_name.c_str(), &probe) == 1;
    // RFC 6066 §3: SNI carries host names only, never an IP literal.
    c->tls_ = std::make_unique<TlsSession>(tls->context(), false, is_ip ? "" : server_name);
    c->server_name_ = server_name;
    SSL* ssl = c->tls_->ssl();
    if (tls->verify() && !server_name.empty()) {
      if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
      } else {
        SSL_set1_host(ssl, server_name.c_str());
      }
    }
    // A cached session skips certificate verification when resumed, so it is only offered to
    // the same target and name by the same context (CA, verify, client certificate) that made
    // it: the context's tag is the session's id context.
    c->session_key_ = target.address + "/" + server_name;
    if (SSL_SESSION* cached = pool->session(c->session_key_)) {
      unsigned int n = 0;
      const unsigned char* id = SSL_SESSION_get0_id_context(cached, &n);
      const std::string& tag = tls->sessionTag();
      if (n == tag.size() && std::memcmp(id, tag.data(), n) == 0) SSL_set_session(ssl, cached);
    }
  }
  c->handler_ = handler;
  c->timeouts_ = timeouts;
  const auto* addr = reinterpret_cast<const sockaddr*>(&target.addr);
  // TLS stays on libuv (its ciphertext is written through the uv stream); so do non-IP targets.
  bool ring = pool->uring != nullptr && tls == nullptr &&
              (addr->sa_family == AF_INET || addr->sa_family == AF_INET6);
  if (!uvCheck(c->io_.init(loop, ring ? pool->uring : nullptr, c), target.address,
               "upstream socket init")) {
    c->handler_ = nullptr;
    c->close();  // no handle open: deleted at once; null is a connect failure to the caller
    return nullptr;
  }
  c->handles_open_ = 1;
  c->io_.setSingleShotReads();  // a relayed response body pauses often: bounded buffering
  pool->track(c);
  int r = c->io_.connect(addr, onConnect);
  if (r != 0) {  // the caller treats null as a connect failure; the handler is not called
    c->handler_ = nullptr;
    c->close();
    return nullptr;
  }
  c->startTimer(timeouts.connect);
  return c;
}

void UpstreamConnection::onConnect(void* self, int status) {
  auto* c = static_cast<UpstreamConnection*>(self);
  if (c->state_ == State::Closed) return;
  if (status != 0) {
    c->fail(UpstreamError::ConnectFailed);
    return;
  }
  if (c->tls_) {  // the connect timer keeps running through the handshake
    c->reading_ = false;
    if (!uvCheck(c->io_.readStart(onRead), c->target_address_, "upstream read start")) {
      c->fail(UpstreamError::ConnectFailed);
      return;
    }
    c->reading_ = true;
    if (c->tls_->start() != TlsSession::Status::Ok || !c->flushTls()) {
      c->fail(UpstreamError::ConnectFailed);
    }
    return;
  }
  c->state_ = State::Active;
  c->stopTimer();
  c->resumeReading();
  if (c->handler_ != nullptr) c->handler_->onUpstreamConnected();
}

bool UpstreamConnection::flushTls() {
  return tls_->flushTo(io_.uvStream(), this);
}

void UpstreamConnection::onCipher(const char* data, size_t len) {
  bool was_done = tls_->handshakeDone();
  TlsSession::Status st = tls_->feed(data, len, [this](const char* p, size_t n) {
    keepSession();  // a TLS 1.3 ticket read just before this data
    onData(p, n);
    return state_ != State::Closed;
  });
  if (state_ == State::Closed) return;
  bool flushed = flushTls();
  if (st == TlsSession::Status::Error || !flushed) {
    fail(was_done ? UpstreamError::Reset : UpstreamError::ConnectFailed);
    return;
  }
  if (tls_->handshakeDone()) keepSession();
  if (!was_done && tls_->handshakeDone()) {
    state_ = State::Active;
    stopTimer();
    if (handler_ != nullptr) handler_->onUpstreamConnected();
    return;
  }
  if (st == TlsSession::Status::Closed) onEof();
}

// Keeps the newest resumable session of this connection for its target: TLS 1.2's once the
// handshake is done; under TLS 1.3 the session at the end of the handshake has no ticket yet,
// and each NewSessionTicket replaces the SSL's session with a resumable one. A copy goes to the
// pool, because OpenSSL marks the live session not resumable when the connection is freed
// without a close_notify (a peer that closes after its response, an idle pooled connection).
void UpstreamConnection::keepSession() {
  SSL_SESSION* s = SSL_get0_session(tls_->ssl());
  if (s == nullptr || s == stored_session_ || SSL_SESSION_is_resumable(s) != 1) return;
  SSL_SESSION* copy = SSL_SESSION_dup(s);
  if (copy == nullptr) return;
  stored_session_ = s;
  pool_->storeSession(session_key_, copy);
}

void UpstreamConnection::attach(UpstreamHandler* handler, const Timeouts& timeouts) {
  handler_ = handler;
  timeouts_ = timeouts;
  state_ = State::Active;
  reused_ = true;
  stopTimer();
}

void UpstreamConnection::beginRequest(bool head_request) {
  head_request_ = head_request;
  request_done_ = false;
  response_started_ = false;
  complete_ = false;
  trailing_ = false;
  interim_ = false;
  upgrade_ = false;
  llhttp_reset(&parser_);
  startTimer(timeouts_.response);
}

void UpstreamConnection::requestComplete() {
  request_done_ = true;
  if (state_ == State::Active && !response_started_) startTimer(timeouts_.response);
}

void UpstreamConnection::sendRequest(const RequestStart& start, std::string_view body, bool end,
                                     const base::HeaderMap& trailers) {
  beginRequest(start.head_request);
  framing_ = start.framing;
  if (end) requestComplete();
  writeHttp1RequestStart(*this, start, body, end, trailers, out_);  // a failure is reported
  if (out_.capacity() > 4096) std::string().swap(out_);  // no large buffer kept while pooled
}

bool UpstreamConnection::sendBody(const char* data, size_t len) {
  return writeHttp1RequestBody(*this, framing_, data, len);
}

bool UpstreamConnection::endRequest(const base::HeaderMap& trailers) {
  requestComplete();
  return writeHttp1RequestEnd(*this, framing_, trailers);
}

bool UpstreamConnection::writeTunnel(const char* data, size_t len) {
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  return writeBytes(&b, 1);
}

bool UpstreamConnection::writeBytes(const uv_buf_t* bufs, unsigned count) {
  if (state_ == State::Closed) return false;
  if (tls_) {
    if (!tls_->encrypt(bufs, count) || !flushTls()) {
      fail(UpstreamError::Reset);
      return false;
    }
    return true;
  }
  int r = io_.write(bufs, count, this);
  if (r != 0) {
    fail(UpstreamError::Reset);
    return false;
  }
  return true;
}

void UpstreamConnection::onWriteDone(int status) {
  if (state_ == State::Closed) return;
  if (status != 0) {
    fail(UpstreamError::Reset);
    return;
  }
  if (handler_ != nullptr && relayMayResume(queued_bytes)) handler_->onUpstreamDrained();
}

void UpstreamConnection::pauseReading() {
  if (reading_) {
    uvCheck(io_.readStop(), "upstream: read stop");
    reading_ = false;
  }
  paused_ = true;
}

void UpstreamConnection::resumeReading() {
  // The response timeout measures the upstream's silence: time spent paused by sluice (its client
  // reads slowly) is not the upstream's, so the silence counts again from here.
  if (paused_) last_read_ = uv_now(loop_);
  paused_ = false;
  if (!reading_ && state_ != State::Closed && state_ != State::Connecting) {
    // A failure (logged) leaves the connection unread: its response or idle deadline ends it.
    reading_ = uvCheck(io_.readStart(onRead), target_address_, "upstream read start");
  }
}

void UpstreamConnection::startTunnel() {
  state_ = State::Tunnel;
  stopTimer();
}

void UpstreamConnection::shutdownWrite() {
  if (state_ == State::Closed) return;
  if (io_.shutdown([](void*, int) {}) != 0) {
    close();
  }
}

void UpstreamConnection::abandon() {
  handler_ = nullptr;
  close();
}

void UpstreamConnection::becomeIdle() {
  state_ = State::Idle;
  handler_ = nullptr;
  startTimer(timeouts_.idle);
  resumeReading();  // an idle connection reads only to notice the upstream closing it
}

// Timeouts are deadlines checked by the worker's sweep (UpstreamPool::sweep) a few times a second
// rather than a libuv timer per connection re-armed on every request.
void UpstreamConnection::startTimer(std::chrono::milliseconds ms) {
  deadline_ms_ = uv_now(loop_) + static_cast<uint64_t>(ms.count());
}

void UpstreamConnection::checkDeadline(uint64_t now_ms) {
  if (deadline_ms_ == 0 || now_ms < deadline_ms_) return;
  switch (state_) {
    case State::Connecting:
      fail(UpstreamError::ConnectTimeout);
      break;
    case State::Active: {
      // Reads only note their time: the deadline moves on from the last read.
      uint64_t limit = static_cast<uint64_t>(timeouts_.response.count());
      if ((!request_done_ && !response_started_) || paused_) {
        // Still uploading (see requestComplete()), or sluice itself stopped reading for
        // backpressure: the client's side is governed by limits.send_timeout.
        deadline_ms_ = now_ms + limit;
        break;
      }
      if (response_started_ && now_ms - last_read_ < limit) {
        deadline_ms_ = last_read_ + limit;
        break;
      }
      fail(UpstreamError::ResponseTimeout);
      break;
    }
    case State::Idle:
      pool_->forget(this);
      close();
      break;
    default:
      deadline_ms_ = 0;
      break;
  }
}

void UpstreamConnection::fail(UpstreamError error) {
  UpstreamHandler* h = handler_;
  bool started = response_started_;
  if (state_ == State::Idle) pool_->forget(this);
  close();
  if (h != nullptr) h->onUpstreamError(error, started);
}

void UpstreamConnection::close() {
  if (state_ == State::Closed) return;
  bool handles = handles_open_ > 0;
  state_ = State::Closed;
  handler_ = nullptr;
  if (!handles) {
    delete this;
    return;
  }
  stopTimer();
  io_.close(onClosed);
}

void UpstreamConnection::onClosed(void* self) {
  auto* c = static_cast<UpstreamConnection*>(self);
  if (--c->handles_open_ == 0) delete c;
}

void UpstreamConnection::onRead(void* self, ssize_t nread, const char* data) {
  auto* c = static_cast<UpstreamConnection*>(self);
  if (nread > 0) {
    if (c->tls_) {
      c->onCipher(data, static_cast<size_t>(nread));
    } else {
      c->onData(data, static_cast<size_t>(nread));
    }
  } else if (nread < 0) {
    c->onEof();
  }
}

void UpstreamConnection::onData(const char* data, size_t len) {
  switch (state_) {
    case State::Idle:  // nothing is expected on an idle connection: it cannot be reused
      pool_->forget(this);
      close();
      return;
    case State::Tunnel:
      if (handler_ != nullptr) handler_->onUpstreamTunnelData(data, len);
      return;
    case State::Active:
      break;
    default:
      return;
  }
  response_started_ = true;
  last_read_ = uv_now(loop_);  // the running timer re-arms itself from here (see onTimer)
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  // The exchange may have switched to the tunnel from inside the 101's callback: the bytes
  // after the 101 in this read are the tunnel's first (a server that speaks first).
  bool tunnel = state_ == State::Tunnel || state_ == State::Active;
  if (err == HPE_PAUSED_UPGRADE && upgrade_ && tunnel) {
    const char* rest = llhttp_get_error_pos(&parser_);
    startTunnel();
    if (handler_ != nullptr && rest != nullptr && rest < data + len) {
      handler_->onUpstreamTunnelData(rest, static_cast<size_t>(data + len - rest));
    }
    return;
  }
  if (state_ != State::Active) return;  // closed or detached from inside a callback
  if (complete_) {
    // Bytes after a complete response are a protocol error: the connection is not reused.
    trailing_ = err != HPE_PAUSED || llhttp_get_error_pos(&parser_) != data + len;
    finishResponse();
    return;
  }
  if (err != HPE_OK) {
    fail(UpstreamError::BadResponse);
    return;
  }
  if (handler_ != nullptr) handler_->onUpstreamReadDone();
}

void UpstreamConnection::onEof() {
  switch (state_) {
    case State::Connecting:  // closed during the TLS handshake
      fail(UpstreamError::ConnectFailed);
      return;
    case State::Idle:
      pool_->forget(this);
      close();
      return;
    case State::Tunnel:
      if (handler_ != nullptr) handler_->onUpstreamTunnelData(nullptr, 0);
      close();
      return;
    case State::Active:
      break;
    default:
      return;
  }
  if (response_started_ && llhttp_message_needs_eof(&parser_)) {
    llhttp_errno_t err = llhttp_finish(&parser_);
    if ((err == HPE_OK || err == HPE_PAUSED) && complete_) {
      trailing_ = true;  // close-delimited: the connection is over anyway
      finishResponse();
      return;
    }
  }
  fail(UpstreamError::Reset);
}

// The response is complete: the connection goes back to the pool when the request was fully
// sent, the upstream allows keep-alive and no stray bytes followed; then the handler hears it.
// Reading may be paused (the relay to a slow client paused it while the last bytes were parsed):
// that does not matter once the response is whole, and becomeIdle() reads again. On the io_uring
// backend every relayed chunk is queued until the loop's submit, so the last read usually pauses.
void UpstreamConnection::finishResponse() {
  UpstreamHandler* h = handler_;
  bool reusable = request_done_ && !trailing_ && llhttp_should_keep_alive(&parser_);
  handler_ = nullptr;
  stopTimer();
  if (reusable) {
    llhttp_resume(&parser_);
    pool_->put(this, uv_now(loop_));
  } else {
    close();
  }
  if (h != nullptr) h->onUpstreamComplete();
}

}  // namespace sluice::proxy
