// What an upstream stream reports to whoever drives it (UpstreamRequest), and how a try fails.
#pragma once

#include <cstddef>

#include "filters/base/http_message.h"

namespace sluice::proxy {

enum class UpstreamError {
  ConnectFailed,  // refused, unreachable, reset while connecting
  ConnectTimeout,
  ResponseTimeout,  // no byte for `timeouts.response`
  Reset,            // closed or reset before the response was complete
  BadResponse,      // the response did not parse
  // HTTP/2: the upstream did not process the request (a stream above the last_stream_id of its
  // GOAWAY, or REFUSED_STREAM): safe to send again, like a connect failure.
  Refused,
};

const char* upstreamErrorName(UpstreamError e);

// Callbacks run on the worker thread; a handler may detach (UpstreamStream::abandon) from
// inside any of them.
class UpstreamHandler {
 public:
  virtual ~UpstreamHandler() = default;
  virtual void onUpstreamConnected() = 0;
  // A response head; `interim` for 1xx other than 101. Called again for the final head after
  // interim ones.
  virtual void onUpstreamHead(base::ResponseHead& head, bool interim) = 0;
  virtual void onUpstreamBody(const char* data, size_t len) = 0;
  // The trailer fields of a chunked response, when it has some: before onUpstreamComplete.
  virtual void onUpstreamTrailers(const base::HeaderMap& trailers) {}
  // The response is complete; the stream is already gone (back in the pool or closed).
  virtual void onUpstreamComplete() = 0;
  // The stream failed; `response_started` when some response bytes had arrived. It is closed.
  virtual void onUpstreamError(UpstreamError error, bool response_started) = 0;
  // Queued request bytes drained (resume reading the client).
  virtual void onUpstreamDrained() = 0;
  // One read's worth of response bytes has been parsed (a point to flush coalesced output).
  virtual void onUpstreamReadDone() = 0;
  // After a 101: raw bytes from the upstream, and its end (len 0).
  virtual void onUpstreamTunnelData(const char* data, size_t len) = 0;
};

}  // namespace sluice::proxy
