#include "proxy/upstream/h2/h2_session.h"

#include <arpa/inet.h>

#include <cstring>

#include "proxy/net/read_buffer.h"
#include "proxy/net/uv_handle.h"
#include "proxy/runtime/log.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_session.h"
#include "proxy/upstream/h2/h2_pool.h"
#include "proxy/upstream/upstream_pool.h"

namespace sluice::proxy {

namespace {
// Our receive windows: per stream, what one paused response may hold in sluice beyond what its
// owner took; per connection, large enough that paused streams never starve the others (the
// connection window is reopened as bytes arrive; only the stream windows wait for the owner).
constexpr int32_t kStreamWindow = 256 * 1024;
constexpr int32_t kConnectionWindow = 16 * 1024 * 1024;
}  // namespace

H2Session::H2Session(uv_loop_t* loop, H2Pool* pool, std::string key, std::string address)
    : loop_(loop), pool_(pool), key_(std::move(key)), address_(std::move(address)) {}

H2Session::~H2Session() {
  if (ng_ != nullptr) nghttp2_session_del(ng_);  // calls no callback
}

H2Session* H2Session::connect(uv_loop_t* loop, H2Pool* pool, std::string key,
                              const ResolvedTarget& target,
                              const UpstreamConnection::Timeouts& timeouts, uint32_t max_streams,
                              const TlsClientContext* tls, const std::string& server_name) {
  auto* s = new H2Session(loop, pool, std::move(key), target.address);
  s->timeouts_ = timeouts;
  // Until this server's SETTINGS arrive, the limit its last session had (RFC 9113 §6.5.2: the
  // initial value is unlimited, but streams sent over the real limit would only be refused).
  s->remote_max_ = pool->remoteMax(s->key_);
  s->max_streams_ = max_streams > 0 ? max_streams : 1;
  if (tls != nullptr) {
    in6_addr probe{};
    bool is_ip = inet_pton(AF_INET, server_name.c_str(), &probe) == 1 ||
                 inet_pton(AF_INET6, server_name.c_str(), &probe) == 1;
    // RFC 6066 §3: SNI carries host names only.
    s->tls_ = std::make_unique<TlsSession>(tls->context(), false, is_ip ? "" : server_name);
    SSL* ssl = s->tls_->ssl();
    if (tls->verify() && !server_name.empty()) {
      if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
      } else {
        SSL_set1_host(ssl, server_name.c_str());
      }
    }
    // As UpstreamConnection does: a cached session is offered only to the same target and name
    // by the context (CA, verify, client certificate) that verified it.
    s->session_key_ = target.address + "/" + server_name + "/h2";
    if (SSL_SESSION* cached = pool->owner().session(s->session_key_)) {
      unsigned int n = 0;
      const unsigned char* id = SSL_SESSION_get0_id_context(cached, &n);
      const std::string& tag = tls->sessionTag();
      if (n == tag.size() && std::memcmp(id, tag.data(), n) == 0) SSL_set_session(ssl, cached);
    }
  }
  if (!uvCheck(uv_tcp_init(loop, &s->tcp_), target.address, "upstream h2 uv_tcp_init")) {
    delete s;
    return nullptr;
  }
  s->tcp_.data = s;
  s->handle_open_ = true;
  uvCheck(uv_tcp_nodelay(&s->tcp_, 1), "upstream h2: uv_tcp_nodelay");
  s->connect_req_.data = s;
  if (uv_tcp_connect(&s->connect_req_, &s->tcp_, reinterpret_cast<const sockaddr*>(&target.addr),
                     onConnect) != 0) {
    s->state_ = State::Closed;
    uvClose(&s->tcp_, onClosed);  // freed there; the caller treats null as a connect failure
    return nullptr;
  }
  s->connect_deadline_ = uv_now(loop) + static_cast<uint64_t>(timeouts.connect.count());
  pool->add(s);
  return s;
}

H2Stream* H2Session::open(UpstreamHandler* handler, const UpstreamConnection::Timeouts& timeouts,
                          bool& ready) {
  ready = state_ == State::Ready;
  streams_.push_back(std::make_unique<H2Stream>(this, handler, timeouts, ready));
  return streams_.back().get();
}

size_t H2Session::liveStreams() const {
  size_t n = 0;
  for (const auto& s : streams_) n += s->closed_ ? 0 : 1;
  return n;
}

bool H2Session::accepting() const {
  if (state_ == State::Closed || goaway_) return false;
  size_t n = liveStreams();
  return n < max_streams_ && n < remote_max_;
}

void H2Session::onConnect(uv_connect_t* req, int status) {
  auto* s = static_cast<H2Session*>(req->data);
  if (s->state_ == State::Closed) return;
  if (status != 0) {
    s->fail(UpstreamError::ConnectFailed);
    return;
  }
  if (!uvCheck(
          uv_read_start(reinterpret_cast<uv_stream_t*>(&s->tcp_), allocThreadReadBuffer, onRead),
          s->address_, "upstream h2 uv_read_start")) {
    s->fail(UpstreamError::ConnectFailed);
    return;
  }
  if (s->tls_) {  // the connect deadline keeps running through the handshake
    if (s->tls_->start() != TlsSession::Status::Ok ||
        !s->tls_->flushTo(reinterpret_cast<uv_stream_t*>(&s->tcp_), s)) {
      s->fail(UpstreamError::ConnectFailed);
    }
    return;
  }
  s->onTransportReady();
}

bool H2Session::startSession() {
  nghttp2_option* opt = nullptr;
  if (callbacks() == nullptr || nghttp2_option_new(&opt) != 0) return false;
  // The window of a stream reopens only when its owner took the bytes (see H2Stream).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  if (remote_max_ != 0xffffffffu) nghttp2_option_set_peer_max_concurrent_streams(opt, remote_max_);
  int rv = nghttp2_session_client_new2(&ng_, callbacks(), this, opt);
  nghttp2_option_del(opt);
  if (rv != 0) return false;
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
  if (nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, iv, 2) != 0) return false;
  return nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow) == 0;
}

// The transport is up (TCP, or TLS with h2 agreed): the waiting streams send their requests, in
// one batch of frames.
void H2Session::onTransportReady() {
  if (!startSession()) {
    logWarn("upstream " + address_ + ": HTTP/2 session could not start");
    fail(UpstreamError::ConnectFailed);
    return;
  }
  state_ = State::Ready;
  connect_deadline_ = 0;
  idle_since_ = uv_now(loop_);
  ++depth_;
  for (size_t i = 0; i < streams_.size(); ++i) {
    H2Stream* st = streams_[i].get();
    if (st->live() && st->id_ < 0) st->handler_->onUpstreamConnected();
  }
  endBatch();
}

void H2Session::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* s = static_cast<H2Session*>(stream->data);
  if (s->state_ == State::Closed) return;
  if (nread < 0 || s->broken_) {
    s->fail(s->state_ == State::Connecting ? UpstreamError::ConnectFailed : UpstreamError::Reset);
    return;
  }
  if (nread == 0) return;
  if (s->tls_) {
    s->onCipher(buf->base, static_cast<size_t>(nread));
  } else {
    s->onPlain(buf->base, static_cast<size_t>(nread));
  }
}

// The newest resumable TLS session of this connection goes to the worker's store (a copy: see
// UpstreamConnection::keepSession), so the next session to the target resumes it.
void H2Session::keepTlsSession() {
  SSL_SESSION* s = SSL_get0_session(tls_->ssl());
  if (s == nullptr || s == stored_session_ || SSL_SESSION_is_resumable(s) != 1) return;
  SSL_SESSION* copy = SSL_SESSION_dup(s);
  if (copy == nullptr) return;
  stored_session_ = s;
  pool_->owner().storeSession(session_key_, copy);
}

// TLS must have agreed on h2: a server that picked nothing or http/1.1 cannot be spoken to.
bool H2Session::alpnIsH2() {
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(tls_->ssl(), &alpn, &alpn_len);
  if (alpn_len == 2 && std::memcmp(alpn, "h2", 2) == 0) return true;
  logWarn("upstream " + address_ + ": the server did not agree to h2 by ALPN");
  fail(UpstreamError::ConnectFailed);
  return false;
}

void H2Session::onCipher(const char* data, size_t len) {
  bool was_done = tls_->handshakeDone();
  TlsSession::Status st = tls_->feed(data, len, [&](const char* p, size_t n) {
    // The server's SETTINGS may come in the same read as the end of the handshake.
    if (state_ == State::Connecting) {
      if (!alpnIsH2()) return false;
      onTransportReady();
      if (state_ == State::Closed) return false;
    }
    onPlain(p, n);
    return state_ != State::Closed;
  });
  if (state_ == State::Closed) return;
  if (tls_->handshakeDone()) keepTlsSession();
  bool flushed = tls_->flushTo(reinterpret_cast<uv_stream_t*>(&tcp_), this);
  if (st == TlsSession::Status::Error || !flushed) {
    fail(was_done ? UpstreamError::Reset : UpstreamError::ConnectFailed);
    return;
  }
  if (st == TlsSession::Status::Closed) {
    fail(UpstreamError::Reset);
    return;
  }
  if (tls_->handshakeDone() && state_ == State::Connecting && alpnIsH2()) onTransportReady();
}

void H2Session::onPlain(const char* data, size_t len) {
  if (ng_ == nullptr) return;
  ++depth_;
  ssize_t rv = nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(data), len);
  if (rv < 0 && state_ != State::Closed) {
    // A connection error: nghttp2 queued its GOAWAY; send it, then every stream fails.
    --depth_;
    flush();
    fail(UpstreamError::BadResponse);
    return;
  }
  // One read's worth is parsed: a point for each owner that got bytes to flush its output.
  for (size_t i = 0; i < streams_.size() && state_ != State::Closed; ++i) {
    H2Stream* st = streams_[i].get();
    if (!st->touched_) continue;
    st->touched_ = false;
    if (st->live()) st->handler_->onUpstreamReadDone();
  }
  endBatch();
}

void H2Session::endBatch() {
  if (--depth_ > 0) return;
  flush();
}

// A failed write (or nghttp2 refusing to go on) breaks the session, but its streams are told
// later, from the read callback or the sweep: a flush may run inside an owner's call (even its
// destructor, through abandon()), which is no place for other owners' error callbacks.
void H2Session::flush() {
  if (state_ != State::Ready || ng_ == nullptr || broken_) return;
  if (depth_ > 0) {
    want_flush_ = true;
    return;
  }
  want_flush_ = false;
  ++depth_;
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(ng_, &data);
    if (n < 0) {
      --depth_;
      broken_ = true;
      return;
    }
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  // Owners whose body buffer emptied may read their clients again.
  for (size_t i = 0; i < streams_.size(); ++i) {
    H2Stream* st = streams_[i].get();
    if (!st->drained_) continue;
    st->drained_ = false;
    if (st->live()) st->handler_->onUpstreamDrained();
  }
  --depth_;
  if (!out_.empty()) {
    bool ok = writeOut(out_.data(), out_.size());
    out_.clear();
    if (out_.capacity() > 256 * 1024) std::string().swap(out_);
    if (!ok) {
      broken_ = true;
      return;
    }
  }
  if (want_flush_) {
    flush();  // an owner's callback queued more
    return;
  }
  reap();
}

bool H2Session::writeOut(const char* data, size_t len) {
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  if (tls_) {
    return tls_->encrypt(&b, 1) && tls_->flushTo(reinterpret_cast<uv_stream_t*>(&tcp_), this);
  }
  return writeAll(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, this) == 0;
}

void H2Session::onWriteDone(int status) {
  if (state_ != State::Closed && status != 0) fail(UpstreamError::Reset);
}

void H2Session::reap() {
  if (depth_ > 0) return;
  bool any = false;
  for (auto it = streams_.begin(); it != streams_.end();) {
    if ((*it)->closed_ && (*it)->handler_ == nullptr) {
      it = streams_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  if (streams_.empty() && state_ == State::Ready) {
    if (any) idle_since_ = uv_now(loop_);
    // After a GOAWAY (theirs or ours) an empty session has nothing left to do.
    if (goaway_ || (nghttp2_session_want_read(ng_) == 0 && nghttp2_session_want_write(ng_) == 0)) {
      closeTransport();
    }
  }
}

void H2Session::shutdown() {
  if (state_ == State::Closed) return;
  goaway_ = true;
  if (state_ == State::Ready && ng_ != nullptr) {
    nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
  }
  if (state_ == State::Connecting && liveStreams() == 0) {
    closeTransport();
    return;
  }
  flush();
  if (state_ != State::Closed && depth_ == 0) reap();
}

void H2Session::fail(UpstreamError error) {
  if (state_ == State::Closed) return;
  // A stream on a session that never came up failed to connect; on a live one, it was reset.
  UpstreamError e = state_ == State::Connecting           ? error
                    : error == UpstreamError::BadResponse ? error
                                                          : UpstreamError::Reset;
  std::vector<std::pair<UpstreamHandler*, bool>> owners;
  for (auto& st : streams_) {
    bool started = st->response_started_;
    if (UpstreamHandler* h = st->release()) owners.emplace_back(h, started);
  }
  closeTransport();
  for (auto& [h, started] : owners) h->onUpstreamError(e, started);
}

void H2Session::close() {
  fail(UpstreamError::Reset);
}

void H2Session::closeTransport() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  pool_->remove(this);
  for (auto& st : streams_) {
    st->closed_ = true;
    st->handler_ = nullptr;
  }
  if (handle_open_) uvClose(&tcp_, onClosed);
}

void H2Session::onClosed(uv_handle_t* h) {
  delete static_cast<H2Session*>(h->data);
}

void H2Session::checkDeadlines(uint64_t now) {
  if (broken_) {
    fail(UpstreamError::Reset);
    return;
  }
  if (state_ == State::Connecting) {
    if (connect_deadline_ != 0 && now >= connect_deadline_) fail(UpstreamError::ConnectTimeout);
    return;
  }
  if (state_ != State::Ready) return;
  if (streams_.empty()) {
    if (now >= idle_since_ + static_cast<uint64_t>(timeouts_.idle.count())) closeTransport();
    return;
  }
  ++depth_;
  for (size_t i = 0; i < streams_.size() && state_ == State::Ready; ++i) {
    H2Stream* st = streams_[i].get();
    if (!st->live() || st->deadline_ms_ == 0 || now < st->deadline_ms_) continue;
    uint64_t limit = static_cast<uint64_t>(st->timeouts_.response.count());
    if (st->paused_) {  // sluice's own client is slow: not the upstream's silence
      st->deadline_ms_ = now + limit;
      continue;
    }
    if (st->last_read_ + limit > now) {
      st->deadline_ms_ = st->last_read_ + limit;
      continue;
    }
    bool started = st->response_started_;
    UpstreamHandler* h = st->release();
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, st->id_, NGHTTP2_CANCEL);
    h->onUpstreamError(UpstreamError::ResponseTimeout, started);
  }
  endBatch();
}

}  // namespace sluice::proxy
