#include "proxy/http1/client_connection.h"

#include <arpa/inet.h>

#include <cstring>
#include <mutex>
#include <set>

#include "proxy/http1/head_scanner.h"
#include "proxy/http2/http2_session.h"
#include "proxy/net/peer_address.h"
#include "proxy/net/proxy_protocol.h"
#include "proxy/net/read_buffer.h"
#include "proxy/net/uv_handle.h"
#include "proxy/stream/exchange.h"
#include "proxy/stream/local_reply.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_session.h"

namespace sluice::proxy {

// One tcmalloc size class (576 B) for every connection, apart from RequestParse's.
static_assert(sizeof(ClientConnection) <= 576, "see RequestParse::size_class_pad");

const std::string* internListenerName(const std::string& name) {
  static std::mutex mutex;
  static std::set<std::string, std::less<>> names;  // never freed: nodes stay put
  std::lock_guard<std::mutex> lock(mutex);
  return &*names.insert(name).first;
}

ClientConnection::ClientConnection(WorkerContext& ctx, const std::string* listener)
    : ctx_(ctx), listener_(listener) {}

ClientConnection::~ClientConnection() {
  ConnectionQueue::unlink(room_link_);
  exchange_.reset();
  if (req_) --ctx_.parse_states;
  h2_.reset();  // its streams' exchanges log while this connection's fields are still here
  ctx_.connections.erase(this);
  ctx_.shared.connections.fetch_sub(1, std::memory_order_relaxed);
  if (connections_active_ != nullptr) connections_active_->sub(1);
}

void ClientConnection::adopt(WorkerContext& ctx, int fd, const sockaddr* peer,
                             const ListenerSeries& listener) {
  auto* c = new ClientConnection(ctx, listener.name);
  // TLS stays on libuv (its ciphertext is written through the uv stream).
  int init = c->io_.init(ctx.loop, listener.tls ? nullptr : ctx.pool.uring, c);
  c->handles_open_ = 1;
  ctx.connections.insert(c);
  ctx.shared.connections.fetch_add(1, std::memory_order_relaxed);
  c->connections_total_ = listener.total;
  c->connections_active_ = listener.active;
  c->connections_total_->inc();
  c->connections_active_->add(1);
  if (!uvCheck(init, "client connection: socket init")) {
    ::close(fd);
    delete c;  // no handle to close; the destructor undoes the counts above
    return;
  }
  if (c->io_.open(fd) != 0) {
    ::close(fd);
    c->abort();
    return;
  }
  const config::Limits& limits = ctx.snapshot->config->limits;
  // Over the limit: a connection that costs least to lose makes room, or else the new one is
  // closed at once. (While draining, a connection accepted before the listener closed is still
  // served, with `connection: close`: its client did nothing wrong.)
  if (ctx.shared.connections.load(std::memory_order_relaxed) >
          static_cast<int64_t>(limits.max_connections) &&
      !makeRoom(ctx)) {
    c->abort();
    return;
  }
  ctx.unheard_clients.pushBack(c->room_link_, c);
  if (ctx.shared.draining.load(std::memory_order_relaxed)) c->drain_ = true;
  c->awaiting_proxy_ = listener.proxy_protocol;
  if (listener.tls || listener.proxy_protocol || listener.http2.h2c) {
    c->extras_ = std::make_unique<Extras>();
    c->extras_->http2 = listener.http2;
  }
  c->h2c_probe_ = listener.http2.h2c && !listener.tls;
  // TCP_NODELAY comes from the listening socket (Linux copies it to accepted sockets).
  c->client_ip_ = formatPeerIp(peer);
  c->has_client_addr_ = peerAddress16(peer, c->client_addr16_);
  if (listener.tls) {
    c->extras_->tls_ctx = listener.tls;
    c->tls_ = std::make_unique<TlsSession>(listener.tls->defaultContext(), true);
  }
  c->startFirstHeadTimer(listener.deferred);
  c->resumeReading();
}

// Closes this worker's cheapest connection to lose: the longest-idle keep-alive connection, else
// the oldest one that has not sent a whole request head (a silent flood, slowloris). So a flood of
// idle connections cannot lock real clients out until header_timeout (nginx serves them too).
// False when every connection of this worker is busy with a request.
bool ClientConnection::makeRoom(WorkerContext& ctx) {
  void* victim = ctx.idle_clients.front();
  if (victim == nullptr) victim = ctx.unheard_clients.front();
  if (victim == nullptr) return false;
  auto* c = static_cast<ClientConnection*>(victim);
  ConnectionQueue::unlink(c->room_link_);
  ctx.metrics.downstream_connections_evicted_total.with({*c->listener_}).inc();
  c->abort();
  return true;
}

bool ClientConnection::write(const uv_buf_t* bufs, unsigned count) {
  if (io_.closing()) return false;
  if (tls_) {
    if (!tls_->encrypt(bufs, count) || !flushTls()) {
      abort();
      return false;
    }
    return true;
  }
  return writeSocket(bufs, count, false);
}

// The bytes are held for the FIN only when exchangeDone is sure to close at once (see
// closeAfterWrites): plain TCP, the request read whole, nothing queued or pipelined behind it.
bool ClientConnection::writeBeforeClose(const uv_buf_t* bufs, unsigned count) {
  bool close_follows =
      !tls_ && message_done_ && req_->pending.empty() && queued_writes == 0 && !io_.closing();
  return close_follows ? writeSocket(bufs, count, true) : write(bufs, count);
}

bool ClientConnection::writeSocket(const uv_buf_t* bufs, unsigned count, bool fin_follows) {
  if (io_.write(bufs, count, this, fin_follows) != 0) {
    abort();
    return false;
  }
  noteQueued();
  return true;
}

// Writes the ciphertext the TLS session produced (handshake messages, records, alerts).
bool ClientConnection::flushTls() {
  bool ok = tls_->flushTo(io_.uvStream(), this);
  noteQueued();
  return ok;
}

void ClientConnection::noteQueued() {
  if (queued_writes > 0 && write_progress_ms_ == 0) write_progress_ms_ = uv_now(ctx_.loop);
}

void ClientConnection::onCipher(const char* data, size_t len) {
  bool was_done = tls_->handshakeDone();
  TlsSession::Status st = tls_->feed(data, len, [this, was_done](const char* p, size_t n) {
    onData(p, n);
    return state_ != State::Closing;
  });
  if (state_ == State::Closing) return;
  if (!was_done && tls_->handshakeDone()) onHandshakeDone();
  bool flushed = flushTls();
  if (st == TlsSession::Status::Error) {
    ctx_.metrics.tls_handshake_failures_total.with({*listener_, tls_->errorReason()}).inc();
    if (!tls_->handshakeDone()) {
      abort();  // not TLS, or a handshake that failed: nothing HTTP can be said
      return;
    }
  }
  if (st != TlsSession::Status::Ok || !flushed) {
    if (st == TlsSession::Status::Closed && exchange_ && parser_paused_) {
      peer_closed_ = true;  // close_notify after a whole request: answer, then close
      return;
    }
    abort();
  }
}

void ClientConnection::onHandshakeDone() {
  SSL* ssl = tls_->ssl();
  ctx_.metrics.tls_handshakes_total.with({*listener_, SSL_get_version(ssl)}).inc();
  if (SSL_session_reused(ssl)) ctx_.metrics.tls_resumptions_total.with({*listener_}).inc();
  if (extras_->tls_ctx->requiresClientCert()) {
    X509* peer = SSL_get0_peer_certificate(ssl);
    if (peer != nullptr && SSL_get_verify_result(ssl) == X509_V_OK) {
      char* subject = X509_NAME_oneline(X509_get_subject_name(peer), nullptr, 0);
      if (subject != nullptr) {
        extras_->client_subject = subject;
        OPENSSL_free(subject);
      }
    }
  }
  if (state_ == State::Head && alpnChoseH2()) startHttp2(nullptr, 0);  // our SETTINGS go first
}

void ClientConnection::onWriteDone(int status) {
  if (status != 0) {
    abort();
    return;
  }
  write_progress_ms_ = queued_writes == 0 ? 0 : uv_now(ctx_.loop);
  if (h2_) {
    if (state_ == State::Http2) h2_->onTransportWritten();
    return;
  }
  if (exchange_ && relayMayResume(queued_bytes)) exchange_->onClientDrained();
}

void ClientConnection::pauseReading() {
  if (reading_) {
    uvCheck(io_.readStop(), "client: read stop");
    reading_ = false;
  }
}

void ClientConnection::resumeReading() {
  if (!reading_ && state_ != State::Closing) {
    if (io_.readStart(onRead) == 0) reading_ = true;
  }
}

void ClientConnection::onRead(void* self, ssize_t nread, const char* data) {
  auto* c = static_cast<ClientConnection*>(self);
  if (nread > 0) {
    if (c->deferral_credit_ms_ != 0) c->giveBackDeferral();
    if (c->awaiting_proxy_) {
      c->onProxyHeaderBytes(data, static_cast<size_t>(nread));
    } else if (c->tls_) {
      c->onCipher(data, static_cast<size_t>(nread));
    } else {
      c->onData(data, static_cast<size_t>(nread));
    }
  } else if (nread < 0) {
    if (c->state_ == State::Tunnel && c->exchange_) {
      c->pauseReading();
      c->exchange_->onClientTunnelData(nullptr, 0);
      return;
    }
    // A client that half-closes (EOF) after a complete request still gets its answer (then the
    // connection closes); otherwise -- a reset, or EOF mid-request -- the client is gone, and so
    // is the work done for it (a retry waiting on its back-off is never made).
    if (nread == UV_EOF && c->exchange_ && (c->parser_paused_ || c->upgrade_paused_)) {
      c->pauseReading();
      c->peer_closed_ = true;
      return;
    }
    c->abort();
  }
}

// The PROXY header comes before anything else, TLS included. A connection without a valid one
// is closed (nothing HTTP can be said); the address it names replaces the peer's only when the
// peer is a trusted proxy.
void ClientConnection::onProxyHeaderBytes(const char* data, size_t len) {
  if (!extras_->proxy_buf.empty()) extras_->proxy_buf.append(data, len);
  std::string_view view =
      extras_->proxy_buf.empty() ? std::string_view(data, len) : extras_->proxy_buf;
  size_t consumed = 0;
  ProxyHeader header;
  switch (parseProxyHeader(view, consumed, header)) {
    case ProxyHeaderStatus::NeedMore:
      if (extras_->proxy_buf.empty()) extras_->proxy_buf.assign(data, len);
      return;
    case ProxyHeaderStatus::Invalid:
      abort();
      return;
    case ProxyHeaderStatus::Done:
      break;
  }
  awaiting_proxy_ = false;
  bool trusted = false;
  if (has_client_addr_) {
    for (const config::Cidr& cidr : ctx_.snapshot->config->trusted_proxies) {
      trusted = trusted || cidr.contains(client_addr16_);
    }
  }
  const auto* source = reinterpret_cast<const sockaddr*>(&header.source);
  if (header.has_source && trusted) {
    client_ip_ = formatPeerIp(source);
    has_client_addr_ = peerAddress16(source, client_addr16_);
  }
  std::string rest(view.substr(consumed));
  extras_->proxy_buf.clear();
  extras_->proxy_buf.shrink_to_fit();
  if (rest.empty()) return;
  if (tls_) {
    onCipher(rest.data(), rest.size());
  } else {
    onData(rest.data(), rest.size());
  }
}

void ClientConnection::onData(const char* data, size_t len) {
  if (state_ == State::Closing) return;
  if (state_ == State::Http2) {
    h2_->feed(data, len);
    return;
  }
  if (tls_ && !alpn_checked_ && alpnChoseH2()) {  // the preface came with the handshake's end
    startHttp2(data, len);
    return;
  }
  if (h2c_probe_) {
    if (probeH2c(data, len)) return;
    std::string input = std::move(extras_->preface_buf);  // not HTTP/2: all of it is HTTP/1.1
    extras_->preface_buf.clear();
    onData(input.data(), input.size());
    return;
  }
  if (state_ == State::Tunnel) {
    exchange_->onClientTunnelData(data, len);
    return;
  }
  if (room_link_.queue == &ctx_.idle_clients) {
    ctx_.unheard_clients.pushBack(room_link_, this);  // a new request is on its way
  }
  if (parser_paused_ || upgrade_paused_) {
    // Bytes of the next request (or tunnel bytes) while one is in flight: keep them, and stop
    // reading once they pile up so a pipelining client cannot make us buffer without bound.
    // (Reading stays on otherwise: stopping and restarting costs two syscalls per request.)
    req_->pending.append(data, len);
    if (req_->pending.size() >= kReadBufferSize) pauseReading();
    return;
  }
  feed(data, len);
}

// Feeds client bytes to the parser one piece at a time: a request head only after the scanner
// has checked it, then its body; every message end pauses the parser, so the next head is
// scanned too and a request in flight holds back the ones pipelined behind it.
void ClientConnection::feed(const char* data, size_t len) {
  std::string owned;  // a rewritten request line and the bytes after it
  idle_at_sweep_ = false;
  if (!req_ && len > 0) req_ = newParse();
  while (len > 0) {
    if (req_->line_gate) {
      Gate g = gateRequestLine(data, len, owned);
      if (g == Gate::Hold) return;
      if (g == Gate::Swap) {
        data = owned.data();
        len = owned.size();
      }
    }
    size_t chunk = len;
    if (req_->scanning_head) {
      size_t consumed = 0;
      HeadScanner::Result r = req_->scanner.scan(data, len, consumed);
      if (r == HeadScanner::Result::Malformed) {
        if (req_->head_bytes == 0) req_->head_bytes = 1;
        rejectRequest(400);
        return;
      }
      if (r == HeadScanner::Result::Complete) {
        chunk = consumed;
        req_->scanning_head = false;
      }
    }
    in_parse_ = true;
    llhttp_errno_t err = llhttp_execute(&req_->parser, data, chunk);
    in_parse_ = false;
    if (state_ == State::Closing) return;
    if (err == HPE_OK) {
      data += chunk;
      len -= chunk;
      continue;
    }
    if (err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
      onParseError(err);
      return;
    }
    const char* pos = llhttp_get_error_pos(&req_->parser);
    size_t used = static_cast<size_t>(pos - data);
    data += used;
    len -= used;
    if (err == HPE_PAUSED_UPGRADE) {
      req_->pending.assign(data, len);  // tunnel bytes, if the upstream agrees to switch
      upgrade_paused_ = true;
      if (req_->pending.size() >= kReadBufferSize) pauseReading();
      return;
    }
    req_->scanning_head = true;
    req_->scanner.reset();
    req_->line_gate = true;
    if (exchange_) {  // answer this request before reading the next one
      req_->pending.assign(data, len);
      parser_paused_ = true;
      if (req_->pending.size() >= kReadBufferSize) pauseReading();
      return;
    }
    llhttp_resume(&req_->parser);  // answered already (a local reply): go on with the next request
  }
}

void ClientConnection::onParseError(llhttp_errno_t err) {
  int status = reject_status_ != 0 ? reject_status_ : 400;
  if (exchange_) {
    exchange_->onRequestError(status);  // answers or aborts, then the connection closes
    if (state_ != State::Closing) closeAfterWrites();
    return;
  }
  rejectRequest(status);
}

void ClientConnection::rejectRequest(int status) {
  if (state_ == State::Closing) return;
  reject_status_ = status;
  std::string id = ctx_.newRequestId();
  std::string out;
  if (!req_) req_ = newParse();  // the reply reads the head's fields
  const std::string* accept = req_->head.headers.get("accept");
  base::HeaderMap extra;
  if (status == 405) {  // CONNECT, the one method sluice refuses (RFC 9110 §15.5.6: Allow)
    extra.add("allow", kAllowedMethods);
  }
  appendLocalReply(status, "", id, accept != nullptr ? *accept : std::string_view(), false, true,
                   ctx_.httpDate(), &extra, out);
  uv_buf_t b = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
  write(&b, 1);
  double seconds = req_->head_bytes > 0 ? secondsSince(req_->request_start) : 0;
  ctx_.countRequest(-1, req_->head.method.empty() ? "OTHER" : req_->head.method, status, seconds);
  if (ctx_.access_log.enabled()) {
    AccessRecord r;
    r.time = std::chrono::system_clock::now();
    r.request_id = id;
    r.remote = client_ip_;
    r.method = req_->head.method;
    r.host = req_->head.host;
    r.path = req_->head.target;
    r.status = status;
    r.bytes_sent = out.size();
    r.duration_ms = seconds * 1000;
    ctx_.access_log.append(r);
  }
  closeAfterWrites();
}

void ClientConnection::exchangeDone(bool keep_alive) {
  keep_alive = keep_alive && req_->writer.keepAlive();  // the response's framing has its say
  exchange_.reset();
  req_->writer.end();
  ++served_;
  if (state_ == State::Closing) return;
  if (!keep_alive || drain_ || upgrade_paused_ || (peer_closed_ && req_->pending.empty())) {
    closeAfterWrites();
    return;
  }
  state_ = State::Head;
  req_->head_bytes = 0;  // (an exchange came from a parse state, which it leaves here)
  reject_status_ = 0;
  ctx_.idle_clients.pushBack(room_link_, this);
  if (in_parse_) {
    startIdleTimer();
    return;  // the running llhttp_execute goes on with the next pipelined request
  }
  if (parser_paused_) {
    parser_paused_ = false;
    llhttp_resume(&req_->parser);
    std::string input = std::move(req_->pending);
    req_->pending.clear();
    startIdleTimer();
    if (!input.empty()) feed(input.data(), input.size());
    if (state_ == State::Closing || parser_paused_ || upgrade_paused_) return;
  } else {
    startIdleTimer();
  }
  resumeReading();
}

void ClientConnection::startTunnel() {
  state_ = State::Tunnel;
  deadline_ms_ = 0;
  upgrade_paused_ = false;
  std::string early = std::move(req_->pending);
  req_->pending.clear();
  if (!early.empty()) exchange_->onClientTunnelData(early.data(), early.size());
  if (state_ == State::Tunnel) resumeReading();
}

void ClientConnection::drain() {
  drain_ = true;
  if (state_ == State::Http2) {
    h2_->drain();  // GOAWAY; streams in flight finish
    return;
  }
  // An idle keep-alive connection closes now. One accepted but not yet heard from keeps its
  // chance (its request is likely on the way): it is answered with `connection: close`, or
  // closed by the header timeout.
  if (state_ == State::Head && (!req_ || req_->head_bytes == 0) && queued_writes == 0 &&
      served_ > 0) {
    abort();
  }
}

void ClientConnection::closeAfterWrites() {
  if (state_ == State::Closing) return;
  if (queued_writes == 0 && (!req_ || req_->pending.empty()) && message_done_ &&
      reject_status_ == 0 && state_ != State::Tunnel && !tls_) {
    // Everything written is in the kernel and the request was read whole: close now (the FIN
    // follows the data). Otherwise shut down the write side first so queued bytes drain.
    abort();
    return;
  }
  state_ = State::Closing;
  pauseReading();
  deadline_ms_ = 0;
  if (tls_) {
    tls_->shutdown();
    flushTls();
  }
  if (io_.shutdown(onShutdown) != 0) {
    state_ = State::Head;  // let abort() run its course
    abort();
  }
}

void ClientConnection::onShutdown(void* self, int status) {
  auto* c = static_cast<ClientConnection*>(self);
  if (c->lingering_ && status == 0) return;  // the client's close (EOF) or the linger ends it
  c->state_ = State::Head;
  c->abort();
}

void ClientConnection::abort() {
  if (io_.closing()) return;
  state_ = State::Closing;
  // The exchange may be the caller: it is destroyed with the connection, in the close callback.
  io_.close(onClosed);
}

void ClientConnection::onClosed(void* self) {
  auto* c = static_cast<ClientConnection*>(self);
  if (--c->handles_open_ == 0) delete c;
}

}  // namespace sluice::proxy
