// The HTTP/2 half of a ClientConnection: recognising HTTP/2 (ALPN "h2" on a TLS listener, or the
// client preface as the first bytes on a plain listener with http2.h2c) and handing the byte
// stream to an Http2ServerSession, for which the connection is then only the transport (TCP,
// TLS, write queue, send timeout, close after GOAWAY).
#include <cstring>
#include <string_view>

#include "proxy/http1/client_connection.h"
#include "proxy/http2/http2_session.h"
#include "proxy/net/uv_handle.h"
#include "proxy/tls/tls_session.h"

namespace sluice::proxy {

namespace {
constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// After its final GOAWAY, a connection waits this long for the client's own close.
constexpr uint64_t kLingerMs = 2000;
}  // namespace

bool ClientConnection::alpnChoseH2() {
  if (alpn_checked_ || !tls_ || !tls_->handshakeDone()) return false;
  alpn_checked_ = true;
  const unsigned char* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(tls_->ssl(), &proto, &len);
  return len == 2 && std::memcmp(proto, "h2", 2) == 0;
}

bool ClientConnection::probeH2c(const char* data, size_t len) {
  extras_->preface_buf.append(data, len);
  size_t n = std::min(extras_->preface_buf.size(), kClientPreface.size());
  if (std::string_view(extras_->preface_buf).substr(0, n) != kClientPreface.substr(0, n)) {
    h2c_probe_ = false;  // HTTP/1.1: the bytes go to its parser
    return false;
  }
  if (extras_->preface_buf.size() >= kClientPreface.size()) {
    h2c_probe_ = false;
    std::string input = std::move(extras_->preface_buf);
    extras_->preface_buf.clear();
    startHttp2(input.data(), input.size());
  } else {
    if (!req_) req_ = newParse();
    if (req_->head_bytes == 0) req_->head_bytes = 1;  // a request began: the header timeout applies
  }
  return true;
}

void ClientConnection::startHttp2(const char* data, size_t len) {
  state_ = State::Http2;
  deadline_ms_ = 0;  // the session keeps the connection's timeouts from here on
  // It stays among the unheard connections (makeRoom) until its first stream (setIdle).
  h2_ = std::make_unique<Http2ServerSession>(ctx_, *this, extras_->http2);
  if (!h2_->start()) {
    abort();
    return;
  }
  if (len > 0 && state_ == State::Http2) h2_->feed(data, len);
}

void ClientConnection::setIdle(bool idle) {
  if (state_ != State::Http2) return;
  if (idle) {
    ctx_.idle_clients.pushBack(room_link_, this);
  } else {
    ConnectionQueue::unlink(room_link_);
  }
}

void ClientConnection::closeAfterGoaway() {
  if (state_ == State::Closing) return;
  state_ = State::Closing;
  lingering_ = true;
  deadline_ms_ = uv_now(ctx_.loop) + kLingerMs;
  if (tls_) {
    tls_->shutdown();
    flushTls();
  }
  if (!reading_ && io_.readStart(onRead) == 0) {
    reading_ = true;
  }
  if (io_.shutdown(onShutdown) != 0) {
    abort();
  }
}

}  // namespace sluice::proxy
