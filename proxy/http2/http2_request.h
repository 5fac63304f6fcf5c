// An HTTP/2 request's header block turned into what the request core takes (RequestHead and
// RequestMeta), under the same limits as an HTTP/1.1 head: field count (limits.max_headers),
// bytes (limits.max_header_bytes, counting a field as an HTTP/1.1 line would) and the HTTP/2
// header list budget (http2.max_header_list_size, name + value + 32 per field, RFC 9113 §6.5.2).
// nghttp2 has already checked the framing rules (pseudo-header order and set, connection-specific
// fields, `te: trailers` only, content-length against DATA); this adds the rules that are the
// application's (RFC 9113 §8.3.1 :authority vs Host, cookies joined §8.2.3) and sluice's own
// (CONNECT refused, a fragment in :path refused, Expect as for HTTP/1.1). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "filters/base/http_message.h"
#include "proxy/stream/downstream.h"

namespace sluice::proxy {

struct Http2RequestLimits {
  uint64_t max_header_list_size = 32 * 1024;
  uint64_t max_header_bytes = 32 * 1024;
  uint32_t max_headers = 100;
  uint64_t max_body_bytes = 10 * 1024 * 1024;
};

class Http2RequestBuilder {
 public:
  explicit Http2RequestBuilder(const Http2RequestLimits& limits) : limits_(limits) {}

  // One decoded field of the request's header block (or, after finishHead, of its trailers).
  // Past a limit, fields are counted but no longer kept (the answer will be 431).
  void addField(std::string_view name, std::string_view value);
  // Decoded bytes of the current block as RFC 9113 counts them (name + value + 32 per field).
  uint64_t listSize() const { return list_size_; }

  // The head is whole; `end_stream`: no body follows. Returns 0 with `head` and `meta` filled,
  // or the status to answer instead (400, 405, 413, 417, 431).
  int finishHead(bool end_stream, base::RequestHead& head, RequestMeta& meta);

  // Starts a trailer block; finishTrailers returns 0 with the fields, or 431.
  void beginTrailers();
  int finishTrailers(base::HeaderMap& trailers);

 private:
  bool overBudget() const;

  Http2RequestLimits limits_;
  base::RequestHead head_;
  std::string authority_;
  std::string scheme_;
  std::string cookie_;
  bool has_path_ = false;
  uint32_t count_ = 0;
  uint64_t list_size_ = 0;
  uint64_t line_bytes_ = 0;
};

}  // namespace sluice::proxy
