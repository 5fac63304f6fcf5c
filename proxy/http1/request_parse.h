// What a ClientConnection holds only while it serves requests: llhttp, the head scanner and
// request-line gate, the head being built, and the response writer. A keep-alive connection found
// idle at two of the worker's sweeps in a row (every 100 ms) frees it
// (ClientConnection::releaseParseIfIdle) and makes a new one with its next request's first bytes,
// so thousands of idle connections cost only their sockets and deadlines, while a busy one keeps
// its own from request to request.
#pragma once

#include <llhttp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "filters/base/http_message.h"
#include "proxy/http1/head_scanner.h"
#include "proxy/http1/http1_response_writer.h"
#include "proxy/stream/downstream.h"

namespace sluice::proxy {

struct RequestParse {
  RequestParse(Http1Output& out, const std::atomic<bool>& draining) : writer(out, draining) {}

  llhttp_t parser;
  HeadScanner scanner;
  bool scanning_head = true;  // the next bytes belong to a request head
  // Until a head's request line is whole it is held here, so that fixRequestLine can rewrite it
  // before llhttp sees any of it.
  bool line_gate = true;
  std::string line_buf;
  std::string method_override;  // the method as sent, when llhttp was given another
  bool version_unsupported = false;

  // The request being parsed.
  base::RequestHead head;
  RequestMeta meta;
  std::string field;
  std::string value;
  bool in_value = false;
  size_t head_bytes = 0;  // 0: no byte of a request yet (the idle timeout applies, not 408)
  uint32_t header_count = 0;
  uint64_t body_bytes = 0;
  std::chrono::steady_clock::time_point request_start;

  // Bytes read while a request is in flight: the next pipelined request, or tunnel bytes after an
  // upgrade request (ClientConnection's parser_paused_ and upgrade_paused_).
  std::string pending;

  // Frames the exchange's response on the connection (`out`).
  Http1ResponseWriter writer;

  // Keeps this state above tcmalloc's 576-byte size class, which ClientConnection fills: the
  // states a burst of requests leaves behind are then freed from spans of their own, which go
  // back to the OS, instead of sitting between live connections (measured: 1,177 -> 965 bytes
  // per idle connection at 10,000; see README, Performance).
  char size_class_pad[32];

  // A state for a first message; `owner` is what llhttp's callbacks are given (parser.data).
  static std::unique_ptr<RequestParse> make(const llhttp_settings_t* settings, void* owner,
                                            Http1Output& out, const std::atomic<bool>& draining) {
    auto p = std::make_unique<RequestParse>(out, draining);
    llhttp_init(&p->parser, HTTP_REQUEST, settings);
    p->parser.data = owner;
    return p;
  }
};
static_assert(sizeof(RequestParse) > 576, "see size_class_pad");

}  // namespace sluice::proxy
