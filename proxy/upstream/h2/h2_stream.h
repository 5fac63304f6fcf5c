// One request on an upstream HTTP/2 session, as the request core sees it (UpstreamStream): the
// head goes out as a HEADERS frame, the body as DATA frames pulled by nghttp2 from a buffer as
// flow control allows, request trailers as a trailing HEADERS; the response head, body and
// trailers come back through its UpstreamHandler. Owned by its H2Session, which frees it once
// nghttp2 has closed it and nobody holds it. Worker thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>

#include "proxy/upstream/upstream_connection.h"
#include "proxy/upstream/upstream_stream.h"

namespace sluice::proxy {

class H2Session;

class H2Stream final : public UpstreamStream {
 public:
  H2Stream(H2Session* session, UpstreamHandler* handler,
           const UpstreamConnection::Timeouts& timeouts, bool reused)
      : session_(session), handler_(handler), timeouts_(timeouts), reused_(reused) {}

  // UpstreamStream
  bool reused() const override { return reused_; }
  void sendRequest(const RequestStart& start, std::string_view body, bool end,
                   const base::HeaderMap& trailers) override;
  bool sendBody(const char* data, size_t len) override;
  bool endRequest(const base::HeaderMap& trailers) override;
  bool writeTunnel(const char*, size_t) override { return false; }  // no 101 over HTTP/2
  size_t queuedBytes() const override { return send_buf_.size() - send_off_; }
  // Backpressure for this stream only: its window is not reopened while paused.
  void pauseReading() override { paused_ = true; }
  void resumeReading() override;
  void startTunnel() override {}
  void shutdownWrite() override {}
  void abandon() override;

 private:
  friend class H2Session;

  // nghttp2's data source: copies queued body bytes, ends the stream or sends trailers.
  static ssize_t readBody(nghttp2_session* ng, int32_t id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void* user);
  // The request went out whole: the response timeout runs from here.
  void requestDone();
  bool live() const { return handler_ != nullptr && !closed_; }
  // Detaches the handler and returns it (the stream is gone for its owner).
  UpstreamHandler* release();

  H2Session* session_;
  UpstreamHandler* handler_;
  UpstreamConnection::Timeouts timeouts_;
  bool reused_;
  int32_t id_ = -1;  // -1: not submitted
  // Request side.
  std::string send_buf_;  // body bytes nghttp2 has not pulled yet (from send_off_)
  size_t send_off_ = 0;
  bool send_end_ = false;
  bool deferred_ = false;  // nghttp2 waits for resumeData
  bool request_done_ = false;
  bool drained_ = false;  // the buffer emptied: the owner hears onUpstreamDrained
  base::HeaderMap send_trailers_;
  // Response side.
  base::ResponseHead head_;
  base::HeaderMap trailers_;
  size_t head_bytes_ = 0;
  bool final_head_ = false;   // the final head went to the handler
  bool in_trailers_ = false;  // the header block being received is the trailers
  bool response_started_ = false;
  bool bad_ = false;  // the response was refused by sluice (too large a head...)
  bool paused_ = false;
  bool touched_ = false;      // got bytes in the current read (onUpstreamReadDone after it)
  size_t unconsumed_ = 0;     // bytes delivered while paused: the window reopens on resume
  uint64_t deadline_ms_ = 0;  // response timeout (0: none running)
  uint64_t last_read_ = 0;
  bool closed_ = false;  // nghttp2 closed it, or it never got submitted and was dropped
};

}  // namespace sluice::proxy
