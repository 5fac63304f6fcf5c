// One TCP connection from a worker to an upstream target: connects, sends a re-serialised request,
// parses the response with llhttp (strict) and hands it to its handler (the Exchange), then goes
// back to the worker's pool when it can carry another request. Owned by the pool while idle and
// by itself while active; freed only in its close callback. The llhttp callbacks that parse the
// response are in upstream_response_parser.cc.
#pragma once

#include <llhttp.h>
#include <uv.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "filters/base/http_message.h"
#include "proxy/net/connection_list.h"
#include "proxy/net/socket_io.h"
#include "proxy/net/tcp_write.h"
#include "proxy/runtime/snapshot.h"
#include "proxy/upstream/http1_request_framing.h"
#include "proxy/upstream/upstream_handler.h"
#include "proxy/upstream/upstream_stream.h"

namespace sluice::proxy {

// The largest upstream response head (status line, fields, trailers) sluice holds.
inline constexpr size_t kMaxUpstreamHead = 64 * 1024;

class UpstreamPool;
class TlsClientContext;
class TlsSession;

class UpstreamConnection final : public ConnectionList::Node,
                                 public UpstreamStream,
                                 private WriteSink,
                                 private Http1RequestSink {
 public:
  // What the request's upstream config says about this connection.
  struct Timeouts {
    std::chrono::milliseconds connect{2000};
    std::chrono::milliseconds response{30000};
    std::chrono::milliseconds idle{60000};  // how long it may wait in the pool
    uint32_t keepalive = 64;                // idle connections the pool keeps per target
  };

  // Starts connecting to `target`; the handler hears onUpstreamConnected or onUpstreamError.
  // Null when the connect could not even start (the handler is not called then).
  // With `tls`, the connection speaks TLS to the target (SNI and verified name `server_name`)
  // and reports onUpstreamConnected only after the handshake.
  static UpstreamConnection* connect(uv_loop_t* loop, UpstreamPool* pool,
                                     const ResolvedTarget& target, const Timeouts& timeouts,
                                     UpstreamHandler* handler,
                                     const TlsClientContext* tls = nullptr,
                                     const std::string& server_name = "");

  // Takes an idle pooled connection for a new request (the pool calls this).
  void attach(UpstreamHandler* handler, const Timeouts& timeouts);

  // The request, framed as HTTP/1.1 (see http1_request_framing.h). The connection is reusable
  // only once the whole request went out.
  void sendRequest(const RequestStart& start, std::string_view body, bool end,
                   const base::HeaderMap& trailers) override;
  bool sendBody(const char* data, size_t len) override;
  bool endRequest(const base::HeaderMap& trailers) override;
  bool writeTunnel(const char* data, size_t len) override;
  void pauseReading() override;
  void resumeReading() override;
  size_t queuedBytes() const override { return queued_bytes; }
  bool reused() const override { return reused_; }
  // Switches to a raw byte tunnel after a 101 (bytes after the head are delivered as tunnel data).
  void startTunnel() override;
  // Half-closes the write side (tunnel end from the client).
  void shutdownWrite() override;
  // The handler stops caring: the connection is closed (it may hold half a response).
  void abandon() override;

  const std::string& targetAddress() const { return target_address_; }
  const std::string& poolKey() const { return pool_key_; }  // see proxy/upstream/upstream_pool.h

  // Pool side: an idle connection watches for the upstream closing it.
  void becomeIdle();
  void close();
  // Enforces the connect, response and idle timeouts; called by the pool's sweep.
  void checkDeadline(uint64_t now_ms);
  const Timeouts& timeouts() const { return timeouts_; }

 private:
  enum class State { Connecting, Active, Idle, Tunnel, Closed };

  UpstreamConnection(uv_loop_t* loop, UpstreamPool* pool, std::string target_address);
  ~UpstreamConnection();
  void onWriteDone(int status) override;
  // Writes request bytes; false when the connection is broken (an error follows).
  bool writeBytes(const uv_buf_t* bufs, unsigned count) override;
  // Declares the request about to be written: `head_request` makes the response bodiless.
  void beginRequest(bool head_request);
  // The whole request is written: the response timeout counts from here (a slow upload is
  // the client's time, bounded by the client side's body timeout, not the upstream's).
  void requestComplete();
  void startTimer(std::chrono::milliseconds ms);
  void stopTimer() { deadline_ms_ = 0; }
  void fail(UpstreamError error);
  void onData(const char* data, size_t len);
  void onCipher(const char* data, size_t len);
  bool flushTls();
  void keepSession();
  void onEof();
  void finishResponse();

  static void onConnect(void* self, int status);
  static void onRead(void* self, ssize_t nread, const char* data);
  static void onClosed(void* self);
  static bool validResponseHead(llhttp_t* p, const base::ResponseHead& head, bool bodiless);
  static int onHeadersComplete(llhttp_t* p);
  static int onMessageComplete(llhttp_t* p);
  bool countHeadBytes(size_t len);
  static int onStatus(llhttp_t* p, const char* at, size_t len);
  static int onHeaderField(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueComplete(llhttp_t* p);
  base::Header& openField();  // the field being parsed, begun if need be
  static int onBody(llhttp_t* p, const char* at, size_t len);
  static int onMessageBegin(llhttp_t* p);
  static const llhttp_settings_t* settings();

  SocketIo io_;  // libuv, or the worker's io_uring (plain TCP targets with `io: uring`)
  uint64_t deadline_ms_ = 0;  // loop time of the running timeout; 0 = none (see checkDeadline)
  llhttp_t parser_;
  uv_loop_t* loop_;
  UpstreamPool* pool_;
  std::string target_address_;
  std::string pool_key_;
  UpstreamHandler* handler_ = nullptr;
  Timeouts timeouts_{};
  State state_ = State::Connecting;
  int handles_open_ = 0;
  uint64_t last_read_ = 0;  // loop time of the last response bytes
  bool reading_ = false;
  bool paused_ = false;
  bool reused_ = false;
  bool head_request_ = false;
  bool request_done_ = false;
  bool response_started_ = false;
  bool interim_ = false;
  bool complete_ = false;
  bool trailing_ = false;  // bytes followed the response, or it ended with the connection
  bool upgrade_ = false;
  BodyFraming framing_ = BodyFraming::None;  // of the request body being sent
  std::string out_;  // the request head being written (its buffer reused request after request)
  // Fields are parsed straight into head_'s field vector, whose strings keep their buffers from
  // one response to the next: field `nfields_` is the one being parsed.
  base::ResponseHead head_;
  size_t nfields_ = 0;
  size_t trailers_from_ = 0;  // fields from here on are the response's trailers
  bool field_open_ = false;
  size_t head_bytes_ = 0;  // of the response head being parsed (and its trailers)
  std::unique_ptr<TlsSession> tls_;
  std::string server_name_;
  const void* stored_session_ = nullptr;  // the SSL_SESSION last copied to the pool
  std::string session_key_;               // target address / server name: its pool slot
};

}  // namespace sluice::proxy
