#include "proxy/upstream/http1_request_framing.h"

namespace sluice::proxy {

bool writeHttp1RequestStart(Http1RequestSink& sink, const RequestStart& start,
                            std::string_view body, bool end, const base::HeaderMap& trailers,
                            std::string& scratch) {
  scratch.clear();
  start.head->writeRequestHead(*start.target, scratch);
  bool chunked = start.framing == BodyFraming::Chunked;
  if (chunked && !body.empty()) {
    char hdr[24];
    scratch.append(hdr, formatChunkHeader(body.size(), hdr));
  }
  size_t head_len = scratch.size();
  if (chunked && !body.empty()) scratch.append("\r\n");
  if (chunked && end) appendLastChunk(trailers, scratch);
  // The body is written from where it is: head (and chunk size), body, then its tail.
  uv_buf_t bufs[3];
  unsigned n = 0;
  bufs[n++] = uv_buf_init(scratch.data(), static_cast<unsigned>(head_len));
  if (!body.empty()) {
    bufs[n++] = uv_buf_init(const_cast<char*>(body.data()), static_cast<unsigned>(body.size()));
  }
  if (scratch.size() > head_len) {
    bufs[n++] =
        uv_buf_init(scratch.data() + head_len, static_cast<unsigned>(scratch.size() - head_len));
  }
  return sink.writeBytes(bufs, n);
}

bool writeHttp1RequestBody(Http1RequestSink& sink, BodyFraming framing, const char* data,
                           size_t len) {
  if (len == 0) return true;  // an empty chunk would end the body
  if (framing == BodyFraming::Chunked) {
    char hdr[24];
    uv_buf_t bufs[3] = {uv_buf_init(hdr, static_cast<unsigned>(formatChunkHeader(len, hdr))),
                        uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len)),
                        uv_buf_init(const_cast<char*>("\r\n"), 2)};
    return sink.writeBytes(bufs, 3);
  }
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  return sink.writeBytes(&b, 1);
}

bool writeHttp1RequestEnd(Http1RequestSink& sink, BodyFraming framing,
                          const base::HeaderMap& trailers) {
  if (framing != BodyFraming::Chunked) return true;
  if (trailers.empty()) {
    uv_buf_t b = uv_buf_init(const_cast<char*>(kLastChunk), sizeof kLastChunk - 1);
    return sink.writeBytes(&b, 1);
  }
  std::string last;  // rare: only a request with trailers needs more than kLastChunk
  appendLastChunk(trailers, last);
  uv_buf_t b = uv_buf_init(last.data(), static_cast<unsigned>(last.size()));
  return sink.writeBytes(&b, 1);
}

}  // namespace sluice::proxy
