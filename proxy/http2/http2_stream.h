// One HTTP/2 request stream as the request core sees it: it turns the stream's header block into
// a RequestHead (Http2RequestBuilder), owns the stream's Exchange, hands it the request's DATA and
// trailers, and implements Downstream so the response events become nghttp2 frames: the final
// head (held until the first body bytes or the end, so a body-less answer is one HEADERS frame),
// DATA through a data provider that defers while nothing is buffered, trailers. Its queuedBytes()
// is what the client's flow-control windows and the connection's write queue hold back, so a slow
// client pauses this stream's upstream only. Created and destroyed by Http2ServerSession (when
// nghttp2 opens and closes the stream). Worker thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "filters/base/http_message.h"
#include "proxy/http2/http2_fields.h"
#include "proxy/http2/http2_request.h"
#include "proxy/stream/downstream.h"

namespace sluice::proxy {

class Exchange;
class Http2ServerSession;

class Http2Stream final : public Downstream {
 public:
  Http2Stream(Http2ServerSession& session, int32_t id);
  ~Http2Stream() override;

  int32_t id() const { return id_; }
  // Its place in the session's list of open streams.
  size_t slot() const { return slot_; }
  void setSlot(size_t slot) { slot_ = slot; }

  // Request events, from the session's nghttp2 callbacks.
  void addField(std::string_view name, std::string_view value) { builder_.addField(name, value); }
  uint64_t headerListSize() const { return builder_.listSize(); }
  void beginTrailers() {
    in_trailers_ = true;
    builder_.beginTrailers();
  }
  // The request's header block (or its trailer block) is whole.
  void onHeaders(bool end_stream);
  void onData(const uint8_t* data, size_t len);
  void onRequestEnd();
  // nghttp2 closed the stream (sent or received END_STREAM both ways, or RST_STREAM).
  void onClosed(uint32_t error_code);
  // The client reset the stream: true when no response had been submitted (rapid reset).
  bool unanswered() const { return !submitted_; }
  // The data provider: copies buffered body bytes into nghttp2's frame.
  ssize_t readBody(uint8_t* buf, size_t length, uint32_t* flags);
  // A frame carrying END_STREAM went out: the response is complete.
  void onResponseSent();
  // Timeouts (the session's sweep): request body stalled for idle_timeout, response stalled on a
  // zero window for send_timeout. True when it ended the stream.
  bool checkDeadline(uint64_t now_ms);
  bool stalledOnConnectionWindow() const { return stalled_conn_; }
  // The queue behind this stream emptied: tell the exchange.
  void notifyDrained();

  // Downstream
  const std::string& clientIp() const override;
  const unsigned char* clientAddr16() const override;
  bool secure() const override;
  const std::string& clientSubject() const override;
  std::string_view protocol() const override { return "HTTP/2"; }
  void sendContinue() override;
  void sendInterim(base::ResponseHead& head) override;
  void sendHeaders(base::ResponseHead& head, const ResponseHeadInfo& info) override;
  void sendData(const char* data, size_t len) override;
  void sendTrailers(const base::HeaderMap& trailers) override;
  void sendEnd() override;
  void flush() override;
  bool takeBackHead() override;
  uint64_t bytesSent() const override { return bytes_sent_; }
  size_t queuedBytes() const override;
  void pauseReading() override;
  void resumeReading() override;
  void abort() override;
  void exchangeDone(bool keep_alive) override;
  // HTTP/2 carries no HTTP/1.1 upgrade: a 101 is never asked for (RequestMeta::upgrade is false).
  void startTunnel() override { abort(); }
  bool writeTunnel(const char*, size_t) override { return false; }
  void closeAfterWrites() override { abort(); }

 private:
  // Submits the held head: with a data provider unless the response is already complete.
  void submitHead(bool complete);
  // sluice's own answer to a request it refuses before any exchange (400, 405, 413, 431, ...).
  void reject(int status);
  void resetStream(uint32_t code);
  size_t pendingBody() const { return body_.size() - body_off_; }

  Http2ServerSession& session_;
  int32_t id_;
  size_t slot_ = 0;
  Http2RequestBuilder builder_;
  std::unique_ptr<Exchange> exchange_;
  std::chrono::steady_clock::time_point start_;
  base::RequestHead head_;  // kept for a rejected request's log line
  FieldList fields_;        // the final head: held, then lent to nghttp2 (submitHead)
  std::string body_;        // response bytes not yet taken by nghttp2
  size_t body_off_ = 0;
  base::HeaderMap trailers_;
  uint64_t bytes_sent_ = 0;
  uint64_t body_received_ = 0;
  size_t unconsumed_ = 0;          // request bytes not yet given back to the client's window
  uint64_t body_deadline_ms_ = 0;  // request body idle timeout; 0: none
  uint64_t stall_since_ms_ = 0;    // response bytes held by a zero window since then; 0: none
  bool in_trailers_ = false;
  bool head_held_ = false;  // sendHeaders came, not yet submitted
  // fields_ holds lower-case names only (a proxied head).
  bool names_lower_ = false;
  bool submitted_ = false;  // a final head went to nghttp2
  bool deferred_ = false;   // the data provider is waiting for bytes
  bool ended_ = false;      // sendEnd came
  bool request_done_ = false;
  bool response_sent_ = false;
  bool paused_ = false;
  bool reset_ = false;
  bool stalled_conn_ = false;
};

}  // namespace sluice::proxy
