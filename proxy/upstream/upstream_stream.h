// The upstream side of one request as the request core sees it: a stream that carries one
// request and its response (an HTTP/1.1 connection now, an HTTP/2 stream of a shared session
// next), and the connector that finds one for a target (the worker's pool now). The core
// (UpstreamRequest) drives these interfaces only, so tests can drive it with fakes and a
// multiplexed protocol can slot in without touching it.
#pragma once

#include <uv.h>

#include <cstddef>

#include "proxy/runtime/snapshot.h"
#include "proxy/upstream/upstream_handler.h"

namespace sluice::proxy {

// One request/response exchange on an upstream connection. Events come back through the
// UpstreamHandler given when the stream was acquired; after onUpstreamComplete or
// onUpstreamError the stream is gone and must not be used.
class UpstreamStream {
 public:
  virtual ~UpstreamStream() = default;
  // Came from the pool (a resend is worth it when such a stream turns out closed).
  virtual bool reused() const = 0;
  // The request is about to be written; `head_request`: the response has no body.
  virtual void beginRequest(bool head_request) = 0;
  // Request bytes; false when the stream broke (onUpstreamError follows, maybe at once).
  virtual bool write(const uv_buf_t* bufs, unsigned count) = 0;
  // The whole request is written (the response timeout counts from here).
  virtual void requestComplete() = 0;
  virtual size_t queuedBytes() const = 0;
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
  // After a 101: raw bytes both ways (writes go through write()).
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
