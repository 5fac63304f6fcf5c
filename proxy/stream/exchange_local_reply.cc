// The answers an Exchange writes itself: local replies (sluice's error format, filters'
// replies) and what a proxy answers as the final recipient (Max-Forwards: 0).
#include <charconv>

#include "proxy/stream/exchange.h"
#include "proxy/stream/local_reply.h"

namespace sluice::proxy {

using namespace std::string_view_literals;

bool Exchange::answersMaxForwards() const {
  return head_.method == "OPTIONS"sv || head_.method == "TRACE"sv;
}

// RFC 9110 §7.6.2: a proxy decrements Max-Forwards of TRACE and OPTIONS, and answers them itself
// when it is 0. Returns false when it answered.
bool Exchange::applyMaxForwards() {
  if (!answersMaxForwards()) return true;
  const std::string* mf = head_.headers.get("max-forwards");
  if (mf == nullptr) return true;
  uint64_t n = 0;
  if (std::from_chars(mf->data(), mf->data() + mf->size(), n).ec != std::errc()) return true;
  if (n > 0) {
    head_.headers.set("max-forwards", std::to_string(n - 1));
    return true;
  }
  base::HeaderMap extra;
  if (head_.method == "OPTIONS") {
    extra.add("allow", kAllowedMethods);
    sendLocalReply(200, "", &extra);
  } else {
    // TRACE reflects the request head (without credentials) as message/http.
    std::string version = head_.version_major == 2
                              ? std::string("HTTP/2.0")
                              : "HTTP/1." + std::to_string(head_.version_minor);
    std::string echo = head_.method + " " + original_target_ + " " + version + "\r\n";
    // RFC 9110 §9.3.8: the message as received, before sluice added its fields.
    for (const base::Header& h : received_fields_) {
      if (h.name == "authorization" || h.name == "cookie" || h.name == "proxy-authorization")
        continue;
      echo += h.name + ": " + h.value + "\r\n";
    }
    extra.add("content-type", "message/http");
    sendLocalReply(200, echo, &extra);
  }
  return false;
}

void Exchange::sendError(int status, std::string_view message, const base::HeaderMap* extra) {
  if (grpc_) {
    sendGrpcError(status, message.empty() ? base::reasonPhrase(status) : message, extra);
    return;
  }
  const std::string* accept = head_.headers.get("accept");
  bool json = accept != nullptr && prefersJson(*accept);
  sendReply(status, localReplyBody(status, message, request_id_, json), json, extra);
}

void Exchange::sendLocalReply(int status, std::string_view body, const base::HeaderMap* extra) {
  if (status >= 400 && (body.empty() || grpc_)) {
    sendError(status, body, extra);
    return;
  }
  sendReply(status, body, false, extra);
}

// gRPC clients read errors from grpc-status, not from the HTTP status: sluice's own error answer
// to a gRPC call is a trailers-only response (a 200 whose one header block ends the stream)
// carrying the status's gRPC code and the message (gateway.md).
void Exchange::sendGrpcError(int status, std::string_view message, const base::HeaderMap* extra) {
  if (response_started_ || finished_) return;
  upstream_request_.reset();
  status_ = 200;
  base::ResponseHead head;
  head.status = 200;
  head.headers.add("date", ctx_.httpDate());
  head.headers.add("content-type", "application/grpc");
  head.headers.add("grpc-status", std::to_string(grpcStatusFor(status)));
  head.headers.add("grpc-message", grpcMessage(message));
  head.headers.add("x-request-id", request_id_);
  if (extra != nullptr) {
    for (const base::Header& h : *extra) {
      if (h.name != "content-type" && h.name != "content-length") head.headers.set(h.name, h.value);
    }
  }
  // Over HTTP/1.1 the empty body needs its length; HTTP/2 ends the stream with the head.
  head.headers.add("content-length", "0");
  keep_alive_ = keep_alive_ && request_done_;
  ResponseHeadInfo info;
  info.bodiless = true;
  info.keep_alive = keep_alive_;
  response_started_ = true;
  response_done_ = true;
  count();
  down_.sendHeaders(head, info);
  down_.sendEnd();
  finish();
}

void Exchange::sendReply(int status, std::string_view body, bool json,
                         const base::HeaderMap* extra) {
  if (response_started_ || finished_) return;
  // A try cut short by a local answer counts for nothing (the answer may come from inside the
  // UpstreamRequest's own callbacks: it returns at once after them).
  upstream_request_.reset();
  status_ = status;
  base::ResponseHead head;
  head.status = status;
  head.headers.add("date", ctx_.httpDate());
  head.headers.add("content-type", json ? "application/json" : "text/plain; charset=utf-8");
  head.headers.add("x-request-id", request_id_);
  if (extra != nullptr) {
    for (const base::Header& h : *extra) head.headers.set(h.name, h.value);
  }
  bool bodiless = status == 204 || status == 304 || (status >= 100 && status < 200);
  std::string filtered;
  bool unknown_length = false;  // a HEAD whose body a filter would have transformed
  if (!chain_.empty()) {
    // Response filters see the length as on an upstream response; one that removes it (gzip)
    // transforms the body, which then passes through the body filters in one piece. A filter
    // may also replace this reply by another (the cache's stale_if_error): that one finishes
    // the exchange, which is destroyed when the chain returns.
    if (!bodiless) head.headers.set("content-length", std::to_string(body.size()));
    if (!alive_) alive_ = std::make_shared<bool>(true);
    std::shared_ptr<bool> alive = alive_;
    chain_.runResponseHeaders(head, *this);
    if (!*alive || response_started_ || finished_) return;
    bool transformed = !bodiless && head.headers.remove("content-length") == 0;
    unknown_length = transformed && head_only_;
    if (transformed && !head_only_ && route_ != nullptr && route_->body_filters) {
      filtered.assign(body);
      chain_.runResponseBody(filtered, true, *this);
      body = filtered;
    }
  }
  // After a 400 or 408 the connection may be out of step with the client; the rest of an unread
  // request body is not read. The codec adds its own conditions (the client's, draining).
  keep_alive_ = keep_alive_ && request_done_ && status != 400 && status != 408;
  ResponseHeadInfo info;
  info.bodiless = bodiless || unknown_length;
  info.has_length = true;
  info.length = body.size();
  info.keep_alive = keep_alive_;
  response_started_ = true;
  response_done_ = true;
  count();
  down_.sendHeaders(head, info);
  if (!head_only_ && !bodiless) down_.sendData(body.data(), body.size());
  down_.sendEnd();
  finish();
}

}  // namespace sluice::proxy
