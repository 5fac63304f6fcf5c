// The client side of a request as the request core (Exchange) sees it, whatever the protocol:
// who the client is, what the codec learnt about the request beyond its head, and the response
// events the core emits (interim heads, the final head, body data, trailers, the end) with flow
// control and the tunnel after a 101. HTTP/1.1 implements it now (ClientConnection, framing in
// Http1ResponseWriter); an HTTP/2 stream implements the same calls without touching the core.
// All calls on the connection's worker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "filters/base/http_message.h"
#include "proxy/http1/http_serialize.h"

namespace sluice::proxy {

// What the codec learnt about a request beyond its head.
struct RequestMeta {
  BodyFraming framing = BodyFraming::None;  // None, Length or Chunked
  uint64_t content_length = 0;
  bool keep_alive = true;  // the client allows another request on this connection
  bool upgrade = false;    // Connection: upgrade + Upgrade (a tunnel if the upstream agrees)
  bool expect_continue = false;
  bool absolute_form = false;
};

// How the final response head is to be sent (Downstream::sendHeaders).
struct ResponseHeadInfo {
  // No body follows (a HEAD answer, 204, 304): the head's own length field, if any, stays.
  bool bodiless = false;
  // The body's length is known (`length`); otherwise the codec delimits it its own way.
  bool has_length = false;
  uint64_t length = 0;
  // Not null: the fast path. `head` is the upstream's head unedited and the codec writes it with
  // these fields added and the hop-by-hop ones dropped, in one pass (no filter saw the head).
  // Null: `head` is final as it is.
  const ProxiedFields* proxied = nullptr;
  // The core allows the connection to serve another request after this one.
  bool keep_alive = true;
  // A 101 that starts a tunnel (the head is final as it is).
  bool upgrade = false;
};

class Downstream {
 public:
  virtual ~Downstream() = default;

  // The client: address (text, and 16 bytes IPv4-mapped or null), TLS, the verified client
  // certificate's subject under mTLS (else empty), and the protocol for the access log.
  virtual const std::string& clientIp() const = 0;
  virtual const unsigned char* clientAddr16() const = 0;
  virtual bool secure() const = 0;
  virtual const std::string& clientSubject() const = 0;
  virtual std::string_view protocol() const = 0;

  // A 100 Continue sluice sends itself to answer the client's Expect.
  virtual void sendContinue() = 0;
  // An upstream's 1xx (other than 101); the codec drops what its protocol cannot carry.
  virtual void sendInterim(base::ResponseHead& head) = 0;
  // The final head. It may stay buffered until flush() so a small body goes with it.
  virtual void sendHeaders(base::ResponseHead& head, const ResponseHeadInfo& info) = 0;
  virtual void sendData(const char* data, size_t len) = 0;
  // Trailer fields, then the end (dropped when the framing cannot carry them).
  virtual void sendTrailers(const base::HeaderMap& trailers) = 0;
  // The response is complete (everything buffered is written).
  virtual void sendEnd() = 0;
  // The end of one upstream read: what is buffered goes out.
  virtual void flush() = 0;
  // Takes back a head that is still only buffered (nothing of the response left): true when it
  // did, and the core may send another response instead.
  virtual bool takeBackHead() = 0;
  // Response bytes counted for the access log (heads, body, framing).
  virtual uint64_t bytesSent() const = 0;

  // Flow control: response bytes waiting in sluice; reading the request body.
  virtual size_t queuedBytes() const = 0;
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;

  // Cuts the client's stream (half a response went out, or the client broke the request).
  virtual void abort() = 0;
  // The exchange is over; `keep_alive` as the core sees it. Must be the core's last action:
  // the exchange is destroyed here.
  virtual void exchangeDone(bool keep_alive) = 0;

  // After a 101: raw bytes both ways. writeTunnel is false when the client is gone.
  virtual void startTunnel() = 0;
  virtual bool writeTunnel(const char* data, size_t len) = 0;
  // Closes once queued bytes are written (the upstream closed its side of the tunnel).
  virtual void closeAfterWrites() = 0;
};

}  // namespace sluice::proxy
