// The RFC 9112 / RFC 9110 rules for an HTTP/1.x request head once llhttp has parsed it: version,
// CONNECT, request-target forms, Host, Transfer-Encoding / Content-Length framing, Expect and
// Upgrade. Pure functions (no llhttp, no connection): the llhttp callbacks of ClientConnection
// (client_request_parser.cc) call them with what llhttp reported and apply the verdict.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "filters/base/http_message.h"
#include "proxy/http1/http_serialize.h"
#include "proxy/stream/downstream.h"  // RequestMeta, which the checks derive

namespace sluice::proxy {

// What llhttp (and the request-line gate in front of it) reported about a complete head.
struct ParsedHead {
  int http_major = 1;
  int http_minor = 1;
  bool version_unsupported = false;  // the gate saw HTTP/2 or later (RequestLineFix)
  bool keep_alive = true;            // llhttp_should_keep_alive
  bool upgrade = false;              // llhttp's upgrade flag (Upgrade + Connection: upgrade)
  uint64_t content_length = 0;       // llhttp's value of a Content-Length field
};

// The outcome of checkRequestHead. `meta` holds what was derived up to the verdict (all of it
// when accepted); `upgrade` is what llhttp's upgrade flag must become for an accepted head
// (cleared for HTTP/1.0 and h2c, which are served as plain requests).
struct HeadVerdict {
  int status = 0;  // 0: accepted; else the status to reject the request with (then close)
  RequestMeta meta;
  bool ok() const { return status == 0; }
};

// Checks the head of a request whose fields are all in `head` (method set, names lower-case)
// and normalises it in place, step by step, as the checks go: version_minor, an absolute-form
// target turned into origin-form with its authority as `host`, `host` from the Host field
// otherwise (lower-cased), Expect removed. A rejected head keeps what was done before the
// failing rule (the error answer and the access log show it). `max_body_bytes`: a larger
// Content-Length is 413. Called by onHeadersComplete on the worker thread.
HeadVerdict checkRequestHead(base::RequestHead& head, const ParsedHead& parsed,
                             uint64_t max_body_bytes);

// One field line as llhttp delivered it (name not yet lower-cased): 400 for an empty name
// (llhttp 8.1 lets ": value" through) or a control byte in the value (RFC 9110 §5.5), else 0.
// `value` loses its trailing spaces and tabs first. Called by onHeaderValueComplete.
int checkFieldLine(std::string_view name, std::string& value);

}  // namespace sluice::proxy
