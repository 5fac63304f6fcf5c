// One HTTP/2 connection from a worker to an upstream target: cleartext with prior knowledge
// (h2c) or TLS with ALPN h2 (SNI, verification and client certificate as the upstream's `tls`
// says). nghttp2 does framing, HPACK and flow control; this owns the socket, TLS, the timeouts
// and the streams (H2Stream), up to max_streams_per_connection at once and never more than the
// server's SETTINGS_MAX_CONCURRENT_STREAMS. A GOAWAY from the server stops new streams; those
// above its last_stream_id end as UpstreamError::Refused (sent again elsewhere). Owned by the
// worker's H2Pool; freed in its socket's close callback. Worker thread.
#pragma once

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/net/tcp_write.h"
#include "proxy/upstream/h2/h2_stream.h"

namespace sluice::proxy {

class H2Pool;
class TlsClientContext;
class TlsSession;

class H2Session final : private WriteSink {
 public:
  // Starts connecting; null when the connect cannot even start.
  static H2Session* connect(uv_loop_t* loop, H2Pool* pool, std::string key,
                            const ResolvedTarget& target,
                            const UpstreamConnection::Timeouts& timeouts, uint32_t max_streams,
                            const TlsClientContext* tls, const std::string& server_name);

  // A new stream for `handler`; `ready` when the session is up (send at once), otherwise the
  // handler hears onUpstreamConnected or onUpstreamError. Only when accepting().
  H2Stream* open(UpstreamHandler* handler, const UpstreamConnection::Timeouts& timeouts,
                 bool& ready);
  // Room for another stream: not closing, no GOAWAY, under both stream limits.
  bool accepting() const;
  const std::string& key() const { return key_; }
  // No new streams; the session closes once its streams are done (reload, drain).
  void shutdown();
  // Closes at once; streams still running fail (Reset) to their owners.
  void close();
  // Connect, response and idle timeouts (the pool's sweep, a few times a second).
  void checkDeadlines(uint64_t now_ms);

 private:
  friend class H2Stream;
  enum class State { Connecting, Ready, Closed };

  H2Session(uv_loop_t* loop, H2Pool* pool, std::string key, std::string address);
  ~H2Session();
  bool startSession();  // nghttp2 session and our SETTINGS, once the transport is up
  void onTransportReady();
  void onPlain(const char* data, size_t len);
  void onCipher(const char* data, size_t len);
  // Sends what nghttp2 has queued (deferred while inside nghttp2 or a batch of callbacks).
  void flush();
  bool writeOut(const char* data, size_t len);
  void onWriteDone(int status) override;
  void fail(UpstreamError error);
  void closeTransport();  // no stream is told (they have no owner left, or were told)
  bool alpnIsH2();
  void keepTlsSession();
  void reap();  // frees closed streams nobody holds; closes a drained session
  size_t liveStreams() const;
  void streamClosed(H2Stream* s, uint32_t error_code);
  void complete(H2Stream* s);
  void endBatch();

  static void onConnect(uv_connect_t* req, int status);
  static void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onClosed(uv_handle_t* h);
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* user);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t id, const uint8_t* data,
                         size_t len, void* user);
  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t error_code, void* user);
  static const nghttp2_session_callbacks* callbacks();

  uv_tcp_t tcp_;
  uv_connect_t connect_req_;
  uv_loop_t* loop_;
  H2Pool* pool_;
  std::string key_;
  std::string address_;
  UpstreamConnection::Timeouts timeouts_;
  uint32_t max_streams_ = 100;
  uint32_t remote_max_ = 0xffffffffu;  // the server's SETTINGS_MAX_CONCURRENT_STREAMS
  State state_ = State::Connecting;
  nghttp2_session* ng_ = nullptr;
  std::unique_ptr<TlsSession> tls_;
  std::string session_key_;               // its slot in the pool's TLS session store
  const void* stored_session_ = nullptr;  // the SSL_SESSION last copied there
  std::vector<std::unique_ptr<H2Stream>> streams_;
  std::string out_;  // frames gathered by flush() for one write
  int depth_ = 0;    // inside nghttp2 or a batch: flushes and frees wait
  bool want_flush_ = false;
  bool broken_ = false;  // a write failed: the streams fail at the next read or sweep
  bool goaway_ = false;  // received one, or shutdown(): no new streams
  bool handle_open_ = false;
  uint64_t connect_deadline_ = 0;
  uint64_t idle_since_ = 0;
};

}  // namespace sluice::proxy
