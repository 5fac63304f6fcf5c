// The upstream side of one request as the request core sees it: a stream that carries one
// request and its response (an HTTP/1.1 connection now, an HTTP/2 stream of a shared session
// next), and the connector that finds one for a target (the worker's pool now). The core
// (UpstreamRequest) drives these interfaces only, so tests can drive it with fakes and a
// multiplexed protocol can slot in without touching it.
#pragma once

#include <uv.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/http1/http_serialize.h"
#include "proxy/runtime/snapshot.h"
#include "proxy/upstream/upstream_handler.h"

namespace sluice::proxy {

// Where a stream gets the request head of a try from (the request's owner: an Exchange, a
// background fetch). Two forms, so each protocol takes the cheap one: HTTP/1.1 asks for bytes
// (the owner serialises straight from its parsed head, sluice's fields added in the same pass);
// HTTP/2 asks for the structured head and encodes the fields itself (HPACK).
class RequestHeadSource {
 public:
  virtual ~RequestHeadSource() = default;
  // Appends the HTTP/1.1 head for a try to `target`: request line, fields with sluice's
  // additions, framing fields, final empty line.
  virtual void writeRequestHead(const ResolvedTarget& target, std::string& out) = 0;
  // The head as the upstream gets it, sluice's field edits applied (hop-by-hop fields still to
  // be dropped by the codec): the owner's own head when it is already edited, else `scratch`
  // filled with an edited copy. Valid until the owner changes its head.
  virtual const base::RequestHead& requestHead(const ResolvedTarget& target,
                                               base::RequestHead& scratch) = 0;
};

// What a stream needs to send one try's request.
struct RequestStart {
  RequestHeadSource* head = nullptr;
  const ResolvedTarget* target = nullptr;
  BodyFraming framing = BodyFraming::None;  // of the request body (Length, Chunked or None)
  uint64_t length = 0;                      // with BodyFraming::Length
  bool head_request = false;                // HEAD: the response has no body
};

// One request/response exchange on an upstream connection. Events come back through the
// UpstreamHandler given when the stream was acquired; after onUpstreamComplete or
// onUpstreamError the stream is gone and must not be used.
class UpstreamStream {
 public:
  virtual ~UpstreamStream() = default;
  // Came from the pool (a resend is worth it when such a stream turns out closed).
  virtual bool reused() const = 0;
  // Sends the request head with the body bytes at hand (`body`, maybe empty); `end`: they are
  // the whole body, which `trailers` (maybe empty) end. The stream frames the body as its
  // protocol says (HTTP/1.1 chunks, HTTP/2 DATA frames); the response timeout counts from the
  // end of the request. A failure reports through onUpstreamError, maybe at once.
  virtual void sendRequest(const RequestStart& start, std::string_view body, bool end,
                           const base::HeaderMap& trailers) = 0;
  // More request body after sendRequest; false when the stream broke (onUpstreamError follows,
  // maybe at once).
  virtual bool sendBody(const char* data, size_t len) = 0;
  // The end of a body that was not whole at sendRequest, with the request's `trailers`.
  virtual bool endRequest(const base::HeaderMap& trailers) = 0;
  // After a 101: raw bytes to the upstream; false when the stream broke.
  virtual bool writeTunnel(const char* data, size_t len) = 0;
  virtual size_t queuedBytes() const = 0;
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
  // After a 101: raw bytes both ways (writes go through writeTunnel()).
  virtual void startTunnel() = 0;
  virtual void shutdownWrite() = 0;
  // The caller stops caring: the stream is closed and its handler never called again.
  virtual void abandon() = 0;
};

// What a try's stream is made with: the target's connection timeouts and the upstream's TLS.
class UpstreamConnector {
 public:
  virtual ~UpstreamConnector() = default;
  // A stream to `target` for `handler`: `ready` when it can be written at once (pooled);
  // otherwise the handler hears onUpstreamConnected (or onUpstreamError). Null when a connect
  // could not even start.
  virtual UpstreamStream* acquire(const UpstreamRuntime& upstream, const ResolvedTarget& target,
                                  UpstreamHandler* handler, bool allow_pooled, bool& ready) = 0;
};

}  // namespace sluice::proxy
