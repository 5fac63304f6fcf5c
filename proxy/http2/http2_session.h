// One downstream HTTP/2 connection (RFC 9113, server side) over nghttp2: the listener's `http2`
// settings, the request streams (Http2Stream, one Exchange each), flow control with sluice
// consuming a stream's window only when its exchange took the bytes, the hostile-client bounds
// (http2_flood_guard.h), the connection's timeouts, and GOAWAY on drain, idle or abuse. nghttp2
// frames and HPACK-codes everything; this class moves bytes: the client's decrypted bytes in
// through feed(), and everything nghttp2 has to send out in one write per read or per loop
// iteration (a Prepare handle runs the send that stream events asked for).
// Owned by the ClientConnection that found h2 (ALPN or the h2c preface). Worker thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/http2/http2_flood_guard.h"
#include "proxy/http2/http2_request.h"
#include "proxy/http2/http2_transport.h"
#include "proxy/net/uv_handle.h"
#include "proxy/runtime/worker_context.h"

namespace sluice::proxy {

class Http2Stream;

class Http2ServerSession {
 public:
  Http2ServerSession(WorkerContext& ctx, Http2Transport& transport,
                     const config::Http2Settings& settings);
  ~Http2ServerSession();
  Http2ServerSession(const Http2ServerSession&) = delete;
  Http2ServerSession& operator=(const Http2ServerSession&) = delete;

  // Sends the server preface (SETTINGS, connection window). False: the session could not be
  // made (the connection should close).
  bool start();
  // Bytes from the client (plaintext), starting with the client preface.
  void feed(const char* data, size_t len);
  // The transport's write queue emptied: streams waiting for it may go on.
  void onTransportWritten();
  // Graceful shutdown: GOAWAY (a notice, then the last stream id), streams in flight finish.
  void drain();
  // Timeouts (called by the worker's sweep through the connection): idle connection, unfinished
  // header block, stalled request bodies, responses stalled on a zero window.
  void checkDeadline(uint64_t now_ms);

  // For the streams.
  WorkerContext& ctx() { return ctx_; }
  Http2Transport& transport() { return transport_; }
  nghttp2_session* raw() { return session_; }
  const Http2RequestLimits& requestLimits() const { return request_limits_; }
  // A stream has something for nghttp2 to send: it goes out before the loop next blocks.
  void scheduleSend();
  // Bytes waiting on the connection as a whole (the transport's queue).
  size_t connectionQueued() const { return transport_.writeQueued(); }
  // The connection is closing: nothing a stream buffers will be sent any more.
  bool closing() const { return closing_; }
  // Counts one hostile event in sluice_http2_protocol_errors_total.
  void count(Http2Abuse reason);
  // Ends the connection with GOAWAY `code` (ENHANCE_YOUR_CALM by default), counted as `reason`.
  void calm(Http2Abuse reason, uint32_t code = NGHTTP2_ENHANCE_YOUR_CALM);
  // The stream will call Exchange::onClientDrained when the queue behind it empties.
  void waitForDrain(int32_t stream_id);

 private:
  friend struct Http2Callbacks;  // nghttp2's callbacks (http2_session_callbacks.cc)

  // Runs nghttp2's output into one buffer and writes it; closes the connection when nghttp2
  // has nothing more to say or hear.
  void sendNow();
  void notifyDrained();
  void fail(int nghttp2_error);
  Http2Stream* stream(int32_t id);
  void addStream(Http2Stream* s);
  void removeStream(Http2Stream* s);
  void closeTransport();

  WorkerContext& ctx_;
  Http2Transport& transport_;
  config::Http2Settings settings_;
  Http2RequestLimits request_limits_;
  nghttp2_session* session_ = nullptr;
  // The open streams, in no order (each knows its slot: added and removed without allocating
  // once the vector has grown); a stream by id is nghttp2's stream user data.
  std::vector<Http2Stream*> streams_;
  std::vector<int32_t> sweep_ids_;  // checkDeadline's copy of the ids it walks
  std::vector<int32_t> drain_waiters_;
  Http2FloodGuard guard_;
  Prepare sender_;
  std::string out_;  // nghttp2's output of one send pass
  bool in_recv_ = false;
  bool in_send_ = false;
  bool send_wanted_ = false;
  bool closing_ = false;   // the transport was told to close
  bool draining_ = false;  // GOAWAY notice sent; the final GOAWAY follows
  bool goaway_final_ = false;
  bool terminated_ = false;     // GOAWAY submitted: the session only sends what is left
  bool paused_input_ = false;   // reading stopped while the client does not take its output
  uint64_t idle_since_ms_ = 0;  // no stream open since then; 0 = streams open
  uint64_t drain_at_ms_ = 0;    // when the final GOAWAY goes (a round trip after the notice)
  // The header block being received (HEADERS + CONTINUATION): its start and wire bytes.
  int32_t block_stream_ = 0;
  Http2Stream* block_target_ = nullptr;  // the stream of the header block being decoded
  uint64_t block_start_ms_ = 0;
  uint64_t block_bytes_ = 0;
  int32_t last_stream_seen_ = 0;
  // Which of the last kOpenedWindow odd stream ids the client opened (RFC 9113 §5.1.1: a new
  // stream id below one already used is a connection error; nghttp2 only ignores the frame).
  static constexpr int32_t kOpenedWindow = 1024;
  std::bitset<kOpenedWindow> opened_;
  // Notes a HEADERS frame's stream id; false when it opens a stream below one already used.
  bool noteStreamId(int32_t id);
  bool seen_request_ = false;
};

}  // namespace sluice::proxy
