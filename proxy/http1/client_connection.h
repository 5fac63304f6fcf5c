// One accepted client connection: reads and parses HTTP/1.1 requests with llhttp (strict),
// enforces the listener limits, runs one Exchange at a time (pipelined requests wait, parsed in
// order) and writes responses back in order. Freed only in its close callback.
#pragma once

#include <llhttp.h>
#include <uv.h>

#include <memory>
#include <string>

#include "filters/base/http_message.h"
#include "proxy/http1/http1_response_writer.h"
#include "proxy/http1/http_serialize.h"
#include "proxy/http1/request_head_check.h"
#include "proxy/http1/request_parse.h"
#include "proxy/http2/http2_transport.h"
#include "proxy/net/socket_io.h"
#include "proxy/net/tcp_write.h"
#include "proxy/runtime/worker_context.h"
#include "proxy/stream/downstream.h"

namespace sluice::proxy {

class Exchange;
class Http2ServerSession;
class TlsServerContext;
class TlsSession;

// A listener's name for the connections' metric labels, interned for the process (names are
// few): a connection holds the pointer, which outlives a reload that closes its listener.
const std::string* internListenerName(const std::string& name);

// How long the kernel holds a silent connection on a listener with TCP_DEFER_ACCEPT before it
// hands it over anyway: its first SYN-ACK retransmission (TCP_TIMEOUT_INIT).
inline constexpr uint64_t kDeferredAcceptHoldMs = 1000;

// A listener's name and connection series, resolved once when the listener opens.
struct ListenerSeries {
  const std::string* name = nullptr;  // internListenerName
  base::Counter* total = nullptr;
  base::Gauge* active = nullptr;
  std::shared_ptr<TlsServerContext> tls;  // null: plain HTTP
  bool proxy_protocol = false;            // every connection starts with a PROXY header
  bool deferred = false;        // TCP_DEFER_ACCEPT on the socket (listeners[].defer_accept)
  config::Http2Settings http2;  // h2 by ALPN (TLS) or prior knowledge (h2c)
};

class ClientConnection final : public ConnectionList::Node,
                               public Downstream,
                               public Http2Transport,
                               private Http1Output,
                               private WriteSink {
 public:
  // Serves the accepted socket `fd` (non-blocking; ownership passes) of the client at `peer`,
  // counted in `listener`'s series.
  static void adopt(WorkerContext& ctx, int fd, const sockaddr* peer,
                    const ListenerSeries& listener);

  WorkerContext& ctx() { return ctx_; }
  const std::string& listenerName() const { return *listener_; }

  // Downstream: the exchange's view of this connection (see proxy/stream/downstream.h); the
  // response events are framed by req_->writer (an exchange runs only with a parse state).
  const std::string& clientIp() const override { return client_ip_; }
  const unsigned char* clientAddr16() const override {
    return has_client_addr_ ? client_addr16_ : nullptr;
  }
  bool secure() const override { return tls_ != nullptr; }
  const std::string& clientSubject() const override {
    static const std::string kNone;
    return extras_ ? extras_->client_subject : kNone;
  }
  std::string_view protocol() const override { return req_->writer.protocol(); }
  void sendContinue() override { req_->writer.sendContinue(); }
  void sendInterim(base::ResponseHead& head) override { req_->writer.sendInterim(head); }
  void sendHeaders(base::ResponseHead& head, const ResponseHeadInfo& info) override {
    req_->writer.sendHeaders(head, info);
  }
  void sendData(const char* data, size_t len) override { req_->writer.sendData(data, len); }
  void sendTrailers(const base::HeaderMap& trailers) override {
    req_->writer.sendTrailers(trailers);
  }
  void sendEnd() override { req_->writer.sendEnd(); }
  void flush() override { req_->writer.flush(); }
  bool takeBackHead() override { return req_->writer.takeBackHead(); }
  uint64_t bytesSent() const override { return req_->writer.bytesSent(); }
  size_t queuedBytes() const override { return queued_bytes; }
  void pauseReading() override;
  void resumeReading() override;
  // Close now (peer gone, broken stream).
  void abort() override;
  // The exchange is over (response handed to write, request read): destroys it.
  void exchangeDone(bool keep_alive) override;
  // After a 101 went out: raw client bytes now go to the exchange as tunnel data.
  void startTunnel() override;
  bool writeTunnel(const char* data, size_t len) override {
    return req_->writer.writeRaw(data, len);
  }
  // Close after queued bytes are written.
  void closeAfterWrites() override;

  // Writes response bytes in order (sluice's own rejections, and the writer's output, or the
  // HTTP/2 session's); false when the client is gone.
  bool write(const uv_buf_t* bufs, unsigned count) override;
  bool writeBeforeClose(const uv_buf_t* bufs, unsigned count) override;
  // Http2Transport (the rest is shared with Downstream): once the connection speaks HTTP/2.
  size_t writeQueued() const override { return queued_bytes; }
  void closeAfterGoaway() override;
  void setIdle(bool idle) override;
  // Drain: idle connections close now, busy ones after their current response.
  void drain();
  // The config was reloaded: an HTTP/2 connection drains (GOAWAY, streams in flight finish);
  // an HTTP/1.1 one goes on with the new snapshot from its next request.
  void reloaded() {
    if (state_ == State::Http2) drain();
  }
  // Enforces the header and idle timeouts; called by the worker's periodic sweep.
  void checkDeadline(uint64_t now_ms);

 private:
  // Http2: the connection speaks HTTP/2; h2_ runs it (its streams own their exchanges).
  enum class State { Head, Exchange, Tunnel, Http2, Closing };

  ClientConnection(WorkerContext& ctx, const std::string* listener);
  ~ClientConnection();
  void onWriteDone(int status) override;
  void onData(const char* data, size_t len);
  void onCipher(const char* data, size_t len);
  bool flushTls();
  bool writeSocket(const uv_buf_t* bufs, unsigned count, bool fin_follows);
  void onHandshakeDone();
  void feed(const char* data, size_t len);
  void onParseError(llhttp_errno_t err);
  // A response sluice writes before any exchange exists (400, 408, 413, 431): then close.
  void rejectRequest(int status);
  void startHeadTimer();
  // The first head deadline of an accepted connection (`deferred`: TCP_DEFER_ACCEPT listener).
  void startFirstHeadTimer(bool deferred);
  void giveBackDeferral();  // the connection spoke: its first head deadline is whole again
  void startIdleTimer();
  void beginExchange();
  std::unique_ptr<RequestParse> newParse() {
    ++ctx_.parse_states;
    return RequestParse::make(settings(), this, *this, ctx_.shared.draining);
  }
  // The sweep's check: frees req_ when no byte of a request has been held anywhere since the
  // last sweep (a connection between two requests keeps it).
  void releaseParseIfIdle();
  // HTTP/2 from here on: ALPN chose h2, or an h2c listener saw the client preface (`data`).
  void startHttp2(const char* data, size_t len);
  bool alpnChoseH2();
  // An h2c listener's first bytes: true when they are (or may still become) the preface.
  bool probeH2c(const char* data, size_t len);

  static void onRead(void* self, ssize_t nread, const char* data);
  static void onClosed(void* self);
  static void onShutdown(void* self, int status);
  void onProxyHeaderBytes(const char* data, size_t len);
  uint64_t bodyDeadline() const;
  static bool makeRoom(WorkerContext& ctx);
  bool checkSendTimeout(uint64_t now_ms);
  void noteQueued();  // response bytes wait in sluice: the send timeout counts from now
  enum class Gate { Hold, Pass, Swap };
  Gate gateRequestLine(const char* data, size_t len, std::string& owned);
  static int onMessageBegin(llhttp_t* p);
  static int onUrl(llhttp_t* p, const char* at, size_t len);
  static int onHeaderField(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueComplete(llhttp_t* p);
  static int onHeadersComplete(llhttp_t* p);
  static int onChunkHeader(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, size_t len);
  static int onMessageComplete(llhttp_t* p);
  static const llhttp_settings_t* settings();

  WorkerContext& ctx_;
  const std::string* listener_;  // interned
  base::Counter* connections_total_ = nullptr;
  base::Gauge* connections_active_ = nullptr;
  SocketIo io_;               // libuv, or the worker's io_uring (plain listeners with `io: uring`)
  uint64_t deadline_ms_ = 0;  // loop time of the header/idle timeout; 0 = none
  // In ctx_.idle_clients or ctx_.unheard_clients while the connection may be closed to make
  // room at limits.max_connections (see makeRoom).
  ConnectionQueue::Link room_link_;
  // Loop time when queued response bytes last moved (or were first queued); 0 = nothing queued.
  // limits.send_timeout counts from here (nginx's send_timeout).
  uint64_t write_progress_ms_ = 0;
  int handles_open_ = 0;
  State state_ = State::Head;
  bool reading_ = false;
  bool parser_paused_ = false;  // HPE_PAUSED at a message end; req_->pending holds what follows
  bool upgrade_paused_ = false;
  bool in_parse_ = false;
  bool idle_at_sweep_ = false;  // req_ was idle at the last sweep (releaseParseIfIdle)
  bool drain_ = false;
  bool peer_closed_ = false;
  bool message_done_ = true;
  // Taken off the first head deadline of a deferred accept; given back with the first bytes.
  uint16_t deferral_credit_ms_ = 0;
  uint32_t served_ = 0;    // requests answered on this connection
  int reject_status_ = 0;  // set by a callback that found the head too large etc.
  bool has_client_addr_ = false;
  bool awaiting_proxy_ = false;  // the PROXY header has not been read yet
  bool h2c_probe_ = false;       // the first bytes may be the HTTP/2 client preface
  bool alpn_checked_ = false;
  bool lingering_ = false;  // closing after a GOAWAY: reading and dropping until EOF
  std::string client_ip_;
  unsigned char client_addr16_[16] = {};

  // The request being read (null while the connection is idle: see request_parse.h).
  std::unique_ptr<RequestParse> req_;
  std::unique_ptr<Exchange> exchange_;

  // HTTP/2 (ALPN h2, or h2c prior knowledge on a listener with http2.h2c).
  std::unique_ptr<Http2ServerSession> h2_;

  std::unique_ptr<TlsSession> tls_;  // listeners with `tls:`

  // What only a listener with TLS, h2c or the PROXY protocol needs: a plain connection does
  // without (null), so it costs less while it idles.
  struct Extras {
    config::Http2Settings http2;                // the listener's, for its h2 sessions
    std::string preface_buf;                    // h2c: the preface's first bytes, in pieces
    std::string proxy_buf;                      // the PROXY header's first bytes, in pieces
    std::shared_ptr<TlsServerContext> tls_ctx;  // keeps the SNI callback's target alive
    std::string client_subject;                 // the verified client certificate's subject
  };
  std::unique_ptr<Extras> extras_;
};

}  // namespace sluice::proxy
