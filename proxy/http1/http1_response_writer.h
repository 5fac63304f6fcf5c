// HTTP/1.1 framing of the response events the request core emits (Downstream's response half):
// chooses the framing once per response (length, chunked, or close for an HTTP/1.0 client),
// the Connection field and whether the connection may serve another request; chunk-encodes
// bodies and trailers; gathers the head and small body pieces of one upstream read so they
// leave in one write(2). Pure byte logic over an Http1Output, so it is tested without a socket.
// One per client connection, reset for each request with begin(). Worker thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "proxy/stream/downstream.h"

namespace sluice::proxy {

// Response body pieces up to this size are copied behind the gathered head (one write).
inline constexpr size_t kCoalesceLimit = 16 * 1024;

// Where the writer's bytes go (the client connection, through TLS when there is one).
class Http1Output {
 public:
  virtual ~Http1Output() = default;
  // Writes `bufs` in order; false when the client is gone.
  virtual bool write(const uv_buf_t* bufs, unsigned count) = 0;
  // The last bytes of a response after which the connection closes (the client asked for it):
  // the output may let them leave with its FIN.
  virtual bool writeBeforeClose(const uv_buf_t* bufs, unsigned count) { return write(bufs, count); }
};

class Http1ResponseWriter {
 public:
  // `draining`: the process drains, so no connection is kept alive.
  Http1ResponseWriter(Http1Output& out, const std::atomic<bool>& draining)
      : output_(out), draining_(draining) {}

  // A new request: its HTTP minor version and what its head said about the connection.
  void begin(int version_minor, const RequestMeta& meta);
  // The request is over: the gathering buffer is emptied (and given back when it grew large).
  void end();

  void sendContinue();
  void sendInterim(base::ResponseHead& head);
  void sendHeaders(base::ResponseHead& head, const ResponseHeadInfo& info);
  void sendData(const char* data, size_t len);
  void sendTrailers(const base::HeaderMap& trailers);
  void sendEnd();
  void flush();
  bool takeBackHead();
  bool writeRaw(const char* data, size_t len);  // tunnel bytes, not counted

  uint64_t bytesSent() const { return bytes_sent_; }
  // Some bytes of the final response left the buffer (they cannot be taken back).
  bool responseFlushed() const { return flushed_; }
  // The connection may serve another request (as far as the response's framing goes).
  bool keepAlive() const { return keep_alive_; }
  BodyFraming framing() const { return framing_; }
  std::string_view protocol() const { return version_minor_ == 0 ? "HTTP/1.0" : "HTTP/1.1"; }

 private:
  // Sets the framing and keep-alive; returns the Connection field to send, if any.
  const char* chooseFraming(const ResponseHeadInfo& info);
  bool writeOne(std::string_view bytes);

  Http1Output& output_;
  const std::atomic<bool>& draining_;
  std::string out_;  // the head and small body pieces of one upstream read
  int version_minor_ = 1;
  bool client_keep_alive_ = true;
  bool client_upgrade_ = false;
  bool keep_alive_ = true;
  bool head_sent_ = false;  // a final head was handed over (buffered or written)
  bool flushed_ = false;
  bool ended_ = false;  // the last chunk is written (trailers)
  BodyFraming framing_ = BodyFraming::None;
  uint64_t bytes_sent_ = 0;
  static constexpr size_t kKeptCapacity = 16 * 1024;  // out_ kept from one response to the next
};

}  // namespace sluice::proxy
