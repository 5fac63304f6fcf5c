// HTTP/1.1 framing of a request going upstream: the head, the body bytes at hand and (when the
// body is whole) its end go out in one vectored write; later body pieces are framed as the
// request's BodyFraming says (chunks with their size line, or raw bytes for a length). Used by
// UpstreamConnection, and by the test double of a stream, so the bytes are tested without a
// socket.
#pragma once

#include <uv.h>

#include <string>
#include <string_view>

#include "proxy/upstream/upstream_stream.h"

namespace sluice::proxy {

// Where framed bytes go: false when the destination broke.
class Http1RequestSink {
 public:
  virtual ~Http1RequestSink() = default;
  virtual bool writeBytes(const uv_buf_t* bufs, unsigned count) = 0;
};

// The head of `start` with `body` and, when `end`, the last chunk with `trailers` (chunked
// framing). `scratch` holds the head's bytes during the write (a buffer the caller reuses, so
// a pooled connection allocates nothing per request).
bool writeHttp1RequestStart(Http1RequestSink& sink, const RequestStart& start,
                            std::string_view body, bool end, const base::HeaderMap& trailers,
                            std::string& scratch);

// A later piece of the body.
bool writeHttp1RequestBody(Http1RequestSink& sink, BodyFraming framing, const char* data,
                           size_t len);

// The end of the body: the last chunk with `trailers` for chunked framing, nothing otherwise.
bool writeHttp1RequestEnd(Http1RequestSink& sink, BodyFraming framing,
                          const base::HeaderMap& trailers);

}  // namespace sluice::proxy
