// The router end of an Exchange: after the filters, the request goes to one UpstreamRequest
// (which owns every try, see proxy/upstream/upstream_request.h) and its answer comes back here to
// be relayed to the client; a failure becomes sluice's own reply, or a cut connection when half a
// response already went out.
#include "balancer/hash.h"
#include "proxy/net/read_buffer.h"
#include "proxy/stream/exchange.h"
#include "proxy/stream/hash_key.h"
#include "proxy/upstream/grpc_timeout.h"
#include "proxy/upstream/upstream_acquire.h"

namespace sluice::proxy {

void Exchange::forward() {
  if (upstream_ == nullptr) {  // a route without upstream whose filters did not answer
    sendLocalReply(500, "", nullptr);
    return;
  }
  const config::Upstream& uc = *upstream_->config;
  if (uc.balancer == "consistent_hash") {
    hash_ = balancer::hashKey(hashKeyText(uc.hash_key, down_.clientIp(), head_, original_target_));
  }
  if (meta_.expect_continue) down_.sendContinue();
  // Like nginx's request buffering, but bounded: a body is gathered until it is complete or
  // kBodyBufferLimit is reached before the upstream hears of the request, so a request whose
  // body turns out malformed (a bad chunk size) is never forwarded at all.
  if (!request_done_ && pending_body_.size() < kBodyBufferLimit) {
    awaiting_body_ = true;
    return;
  }
  dispatch();
}

void Exchange::dispatch() {
  awaiting_body_ = false;
  upstream_framing_ = meta_.framing;
  upstream_length_ = meta_.content_length;
  if (route_->request_body_filters && meta_.framing == BodyFraming::Length) {
    // Filters may have changed the body's size: a whole one is sent with its new length, one
    // still streaming in chunks.
    if (request_done_) {
      upstream_length_ = pending_body_.size();
    } else {
      upstream_framing_ = BodyFraming::Chunked;
    }
  }
  UpstreamRequest::Params p;
  p.snapshot = snapshot_.get();
  p.upstream_index = static_cast<size_t>(upstream_index_);
  p.hash = hash_;
  p.idempotent = base::isIdempotentMethod(head_.method);
  p.head_only = head_only_;
  p.framing = upstream_framing_;
  p.length = upstream_length_;
  if (grpc_) {
    // grpc-timeout bounds each try when it is shorter than the upstream's response timeout;
    // its expiry is a 504 (DEADLINE_EXCEEDED in the gRPC reply).
    const std::string* t = head_.headers.get("grpc-timeout");
    std::optional<std::chrono::milliseconds> d;
    if (t != nullptr) d = parseGrpcTimeout(*t);
    if (d && *d < tryTimeouts(*upstream_->config).response) p.try_timeout = *d;
  }
  upstream_request_.emplace(ctx_, connector_, std::move(p),
                            static_cast<UpstreamRequestCallbacks&>(*this));
  if (!request_trailers_.empty()) upstream_request_->setTrailers(request_trailers_);
  if (route_->config->mirror && !meta_.upgrade) {
    // The body is whole when the request ended, or when all of a Content-Length body is here.
    bool whole =
        request_done_ || (!route_->request_body_filters && meta_.framing == BodyFraming::Length &&
                          pending_body_.size() == meta_.content_length);
    ProxiedRequestFields add;
    if (direct_head_) add = proxiedRequestFields();
    mirror_ = MirrorTap::start(ctx_, snapshot_, *route_, head_, direct_head_ ? &add : nullptr,
                               pending_body_, whole);
  }
  std::string body = std::move(pending_body_);
  pending_body_.clear();
  upstream_request_->start(std::move(body), request_done_);  // may answer (and end) at once
}

// Each try is a client span of its own: the upstream sees it as its parent.
void Exchange::onTryStart(const ResolvedTarget& target, std::chrono::steady_clock::time_point at) {
  trace_.beginTry(&WorkerContext::randomBits, &ctx_);
  if (spans_.active()) {
    spans_.beginTry(trace_, head_.method, upstream_->config->name, target.address, at);
  }
  if (!direct_head_) head_.headers.set("traceparent", std::string(trace_.upstreamTraceParent()));
}

void Exchange::writeRequestHead(const ResolvedTarget& target, std::string& out) {
  // An HTTP/1.0 client sent no Host: the target's host:port as written (not its resolved ip).
  if (head_.host.empty()) head_.host = target.name;
  if (direct_head_) {
    appendProxiedRequestHead(head_, proxiedRequestFields(), upstream_framing_, upstream_length_,
                             out);
  } else {
    appendRequestHead(head_, upstream_framing_, upstream_length_, out);
  }
  if (upstream_->config->keepalive == 0 && !meta_.upgrade) {
    // No pooling: say so (RFC 9112 §9.6), before the head's final empty line.
    out.insert(out.size() - 2, "connection: close\r\n");
  }
}

// HTTP/2 upstreams take the head as fields: the edited head itself, or (when each try writes
// sluice's fields straight into its bytes) an edited copy.
const base::RequestHead& Exchange::requestHead(const ResolvedTarget& target,
                                               base::RequestHead& scratch) {
  if (head_.host.empty()) head_.host = target.name;
  if (!direct_head_) return head_;
  scratch = head_;
  applyProxiedRequestEdits(scratch.headers, proxiedRequestFields());
  return scratch;
}

void Exchange::onTryRetried(int status, std::string_view reason) {
  if (spans_.active()) spans_.endTry(status, reason, std::chrono::steady_clock::now());
}

void Exchange::onRequestDrained() {
  if (!request_done_ || tunnel_) down_.resumeReading();
}

void Exchange::onFailure(const UpstreamFailure& failure) {
  if (finished_) return;
  if (spans_.active()) {
    spans_.endTry(0, failure.error == UpstreamError::ResponseTimeout ? "timeout" : "failed",
                  std::chrono::steady_clock::now());
  }
  if (tunnel_) {
    down_.abort();
    return;
  }
  if (failure.message != nullptr) {
    sendError(failure.status, failure.message, nullptr);
    return;
  }
  if (response_started_ && !chain_.wantsResponseHeaders() && down_.takeBackHead()) {
    // The head still waited in the client stream's buffer for the rest of the same read (e.g.
    // a bad chunk right behind it): nothing went out, so the client gets a 502 instead.
    response_started_ = false;
  }
  if (response_started_) {
    keep_alive_ = false;
    termination_ =
        failure.error == UpstreamError::ResponseTimeout ? "upstream_timeout" : "upstream_reset";
    down_.abort();  // half a response went out: the client must see the connection fail
    return;
  }
  sendLocalReply(failure.status, "", nullptr);
}

}  // namespace sluice::proxy
