#include "proxy/stream/exchange.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "config/regex.h"
#include "filters/auth_decisions.h"
#include "proxy/net/read_buffer.h"
#include "proxy/runtime/status_windows.h"
#include "proxy/stream/local_reply.h"
#include "proxy/stream/route_split.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tracing/span_exporter.h"
#include "proxy/upstream/background_fetch.h"

namespace sluice::proxy {

using namespace std::string_view_literals;

namespace {

// A client-supplied x-request-id is kept when it is short and plain (it is logged and forwarded).
bool acceptableRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

Exchange::Exchange(Downstream& down, WorkerContext& ctx, SnapshotPtr snapshot,
                   base::RequestHead head, const RequestMeta& meta,
                   std::chrono::steady_clock::time_point start)
    : down_(down),
      ctx_(ctx),
      snapshot_(std::move(snapshot)),
      head_(std::move(head)),
      meta_(meta),
      start_(start),
      wall_start_(std::chrono::system_clock::now()) {}

Exchange::~Exchange() {
  if (alive_) *alive_ = false;
  if (!finished_) {
    finished_ = true;
    if (!response_started_) status_ = 499;  // the client went away first (nginx's convention)
    if (termination_ == nullptr) termination_ = "client_closed";
    logAndCount();
    chain_.complete(status_);
  }
}

void Exchange::start() {
  const std::string* given = head_.headers.get("x-request-id");
  request_id_ = given != nullptr && acceptableRequestId(*given) ? *given : ctx_.newRequestId();
  const auto& tracing = snapshot_->config->tracing;
  trace_.begin(head_.headers, tracing ? tracing->sample : 0.0, &WorkerContext::randomBits, &ctx_);
  if (ctx_.shared.span_exporter != nullptr && ctx_.shared.span_exporter->enabled()) {
    spans_.begin(trace_, &ctx_.span_batch, wall_start_, start_);
  }
  original_target_ = head_.target;
  original_host_ = head_.host;
  if (head_.method == "TRACE"sv) received_fields_ = head_.headers;  // reflected at Max-Forwards: 0
  head_only_ = head_.method == "HEAD"sv;
  if (const std::string* ct = head_.headers.get("content-type")) grpc_ = isGrpcContentType(*ct);
  request_done_ = meta_.framing == BodyFraming::None;
  info_.client_ip = down_.clientIp();
  info_.client_addr16 = down_.clientAddr16();
  info_.request_id = request_id_;
  info_.original_host = original_host_;
  info_.original_target = original_target_;
  info_.secure = down_.secure();
  info_.start = start_;
  route_index_ = snapshot_->router.match(head_);
  if (route_index_ < 0) {
    // OPTIONS * asks about sluice itself (RFC 9112 §3.2.4), and a Max-Forwards of 0 makes sluice
    // the final recipient (RFC 9110 §7.6.2): both are answered whether or not a route matches.
    if (head_.method == "OPTIONS"sv && original_target_ == "*"sv) {
      base::HeaderMap extra;
      extra.add("allow", kAllowedMethods);
      sendLocalReply(200, "", &extra);
      return;
    }
    if (!applyMaxForwards()) return;
    sendLocalReply(404, "", nullptr);
    return;
  }
  route_ = &snapshot_->routes[static_cast<size_t>(route_index_)];
  info_.route_name = route_->config->name;
  upstream_index_ = chooseUpstream(*route_, head_, info_);  // its upstream or a side of its split
  if (upstream_index_ >= 0) {
    upstream_ = &snapshot_->upstreams[static_cast<size_t>(upstream_index_)];
    // Without filters that read the forwarded head (and without a hash key or a Max-Forwards
    // answer that reads it) nothing looks at the edited head before it goes upstream: each try
    // writes the fields sluice adds straight into its request (appendProxiedRequestHead, tested
    // byte for byte against the edits).
    direct_head_ = !route_->forwarded_head_filters &&
                   upstream_->config->balancer != "consistent_hash" && !answersMaxForwards();
    prepareUpstreamHead();
  }
  chain_.init(route_->filters);
  if (chain_.runRequestHeaders(head_, *this) == filters::FilterStatus::Stop) return;
  if (upstream_ != nullptr && !applyMaxForwards()) return;
  forward();
}

ProxiedRequestFields Exchange::proxiedRequestFields() const {
  ProxiedRequestFields f;
  f.forwarded_for = down_.clientIp();
  f.forwarded_proto = down_.secure() ? "https" : "http";
  f.forwarded_host = original_host_;
  // Via names the protocol the request came in with (RFC 9110 §7.6.3): "2" for HTTP/2.
  f.via = head_.version_major == 2   ? "2 sluice"
          : head_.version_minor == 0 ? "1.0 sluice"
                                     : "1.1 sluice";
  f.request_id = request_id_;
  f.client_subject_name = kClientSubjectHeader;
  f.client_subject = down_.clientSubject();
  f.upgrade = meta_.upgrade;
  f.traceparent = trace_.upstreamTraceParent();
  f.tracestate = trace_.traceState();
  return f;
}

// Via names the protocol of the message as received (RFC 9110 §7.6.3): 1.0 from an HTTP/1.0
// upstream, 2 from an HTTP/2 one.
ProxiedFields Exchange::proxiedResponseFields(const base::ResponseHead& head) {
  ProxiedFields f;
  f.via = head.version_major == 2   ? "2 sluice"
          : head.version_minor == 0 ? "1.0 sluice"
                                    : "1.1 sluice";
  f.request_id = request_id_;
  f.date = ctx_.httpDate();
  return f;
}

void Exchange::prepareUpstreamHead() {
  // Only sluice speaks for the client certificate: a client-sent field of that name is dropped.
  if (!direct_head_) applyProxiedRequestEdits(head_.headers, proxiedRequestFields());
  const config::Rewrite& rw = route_->config->rewrite;
  if (rw.strip_prefix && head_.path().substr(0, rw.strip_prefix->size()) == *rw.strip_prefix) {
    head_.target.erase(0, rw.strip_prefix->size());
    if (head_.target.empty() || head_.target[0] != '/') head_.target.insert(0, "/");
  }
  if (rw.path_regex) {  // a path the pattern does not match whole is left alone
    std::string_view path = head_.path();
    if (auto to = config::rewriteFull(*rw.path_regex, path, rw.path_regex_replace)) {
      if (to->empty() || (*to)[0] != '/') to->insert(0, "/");
      head_.target.replace(0, path.size(), *to);  // the query after it is kept
    }
  }
  if (rw.host) head_.host = *rw.host;
}

void Exchange::fetchInBackground(base::RequestHead head, size_t max_body,
                                 filters::BackgroundDone done) {
  BackgroundFetch::start(ctx_, snapshot_, upstream_index_, std::move(head), max_body,
                         std::move(done));
}

void Exchange::fetchFromUpstream(std::string_view upstream, base::RequestHead head, size_t max_body,
                                 std::chrono::milliseconds timeout, filters::BackgroundDone done) {
  int index = -1;
  for (size_t i = 0; i < snapshot_->upstreams.size(); ++i) {
    const config::Upstream* u = snapshot_->upstreams[i].config;
    if (u != nullptr && u->name == upstream) index = static_cast<int>(i);
  }
  BackgroundFetch::start(ctx_, snapshot_, index, std::move(head), max_body, std::move(done),
                         timeout);
}

void Exchange::continueRequest() {
  if (finished_ || response_started_) return;
  if (chain_.runRequestHeaders(head_, *this) == filters::FilterStatus::Stop) return;
  forward();
}

void Exchange::continueRequestAfter(std::chrono::milliseconds delay) {
  if (!delay_timer_ &&
      !delay_timer_.init(ctx_.loop, "request delay", [this] { continueRequest(); })) {
    continueRequest();  // logged; going on at once beats holding the request forever
    return;
  }
  if (!delay_timer_.start(static_cast<uint64_t>(delay.count()))) continueRequest();
}

void Exchange::onRequestBody(const char* data, size_t len) {
  if (response_done_ || finished_) return;  // answered already: the rest is discarded
  std::string filtered;
  if (route_ != nullptr && route_->request_body_filters) {
    // The request-body phase sees every chunk before the upstream does; a filter may change it
    // or answer instead (then the exchange is over, and may be gone).
    filtered.assign(data, len);
    std::shared_ptr<bool> alive = aliveToken();
    chain_.runRequestBody(filtered, false, *this);
    if (!*alive || response_done_ || finished_) return;
    data = filtered.data();
    len = filtered.size();
    if (len == 0) return;
  }
  if (!upstream_request_) {
    pending_body_.append(data, len);
    if (awaiting_body_ && pending_body_.size() >= kBodyBufferLimit) {
      dispatch();
      return;
    }
    if (pending_body_.size() > kHighWatermark) down_.pauseReading();
    return;
  }
  if (!upstream_request_->sendBody(data, len)) return;  // it failed, and this may be gone
  if (relayShouldPause(upstream_request_->queuedBytes())) down_.pauseReading();
}

void Exchange::onRequestTrailers(const base::HeaderMap& trailers) {
  if (response_done_ || finished_) return;  // answered already: the rest is discarded
  if (upstream_request_) {
    upstream_request_->setTrailers(trailers);
  } else {
    request_trailers_ = trailers;
  }
}

void Exchange::onRequestEnd() {
  if (route_ != nullptr && route_->request_body_filters && !request_done_ && !response_done_) {
    std::string tail;
    std::shared_ptr<bool> alive = aliveToken();
    chain_.runRequestBody(tail, true, *this);
    if (!*alive || response_done_ || finished_) return;
    if (!tail.empty()) {
      if (!upstream_request_) {
        pending_body_.append(tail);
      } else if (!upstream_request_->sendBody(tail.data(), tail.size())) {
        return;
      }
    }
  }
  request_done_ = true;
  if (awaiting_body_) {
    dispatch();
    return;
  }
  if (upstream_request_ && !upstream_request_->endBody()) return;
  if (response_done_) finish();
}

void Exchange::onRequestError(int status) {
  upstream_request_.reset();  // it saw part of a request that turned out malformed
  keep_alive_ = false;
  if (!response_started_) {
    sendLocalReply(status, "", nullptr);
    return;
  }
  down_.abort();
}

void Exchange::onClientDrained() {
  if (upstream_request_ && !response_done_) upstream_request_->resumeReading();
}

void Exchange::onResponseHead(base::ResponseHead& head, bool interim) {
  if (interim) {
    // 1xx go on (the codec drops what its protocol cannot carry), except a 100 when sluice sent
    // its own to answer the client's Expect.
    if (head.status == 100 && meta_.expect_continue) return;
    down_.sendInterim(head);
    return;
  }
  upstream_ms_ = upstream_request_->headSeconds() * 1000;
  status_ = head.status;
  if (mirror_) mirror_.onResponseHead(head.status);
  spans_.endTry(head.status, {}, upstream_request_->headAt());
  if (head.status == 101) {
    if (!meta_.upgrade) {
      upstream_request_->fail(UpstreamError::BadResponse);
      return;
    }
    ProxiedFields add;
    add.via = "1.1 sluice";
    add.request_id = request_id_;
    applyProxiedResponseEdits(head.headers, add, /*keep_upgrade=*/true);
    ResponseHeadInfo info;
    info.upgrade = true;
    response_started_ = true;
    down_.sendHeaders(head, info);
    down_.flush();
    tunnel_ = true;
    keep_alive_ = false;
    upstream_request_->startTunnel();
    down_.startTunnel();
    return;
  }
  std::string length_text;
  if (const std::string* cl = head.headers.get("content-length")) length_text = *cl;
  uint64_t length = 0;
  bool has_length =
      !length_text.empty() &&
      std::from_chars(length_text.data(), length_text.data() + length_text.size(), length).ec ==
          std::errc();
  bool no_body = head_only_ || head.status == 204 || head.status == 304;
  ResponseHeadInfo info;
  info.bodiless = no_body;
  if (!chain_.wantsResponseHeaders()) {
    // Nothing needs the edited field list: the codec writes it in one pass with sluice's
    // fields (appendProxiedResponseHead writes what the edits below would, tested byte for
    // byte).
    ProxiedFields add = proxiedResponseFields(head);
    if (no_body && has_length && head.status != 204) add.content_length = length_text;
    info.has_length = has_length;
    info.length = length;
    info.proxied = &add;
    response_started_ = true;
    if (has_length && !no_body) body_left_ = length;
    down_.sendHeaders(head, info);
    return;
  }
  // Filters see the length (one that changes the body, gzip, removes it and the response is then
  // re-framed as chunked), and a HEAD/304 answer keeps it as is; otherwise framing re-derives it.
  ProxiedFields add = proxiedResponseFields(head);
  if (has_length && head.status != 204) add.content_length = length_text;
  applyProxiedResponseEdits(head.headers, add);
  // A response filter may substitute the response (sendLocalReply, e.g. the cache serving its
  // stored body on a 304 or a stale one on a 5xx): that reply finishes the exchange, which is
  // destroyed before the chain returns.
  if (!alive_) alive_ = std::make_shared<bool>(true);
  std::shared_ptr<bool> alive = alive_;
  chain_.runResponseHeaders(head, *this);
  if (!*alive || response_started_ || finished_) return;  // a filter answered instead
  has_length = false;
  if (const std::string* cl = head.headers.get("content-length")) {
    has_length = std::from_chars(cl->data(), cl->data() + cl->size(), length).ec == std::errc();
  }
  if (has_length && !no_body) head.headers.remove("content-length");  // re-derived by framing
  info.has_length = has_length;
  info.length = length;
  response_started_ = true;
  if (has_length && !no_body) body_left_ = length;
  down_.sendHeaders(head, info);
}

void Exchange::onResponseBody(const char* data, size_t len) {
  if (!response_started_ || finished_ || len == 0) return;
  if (mirror_) mirror_.onResponseBody(data, len);  // as the upstream sent it, before filters
  if (route_ != nullptr && route_->body_filters) {
    std::string chunk(data, len);
    chain_.runResponseBody(chunk, false, *this);
    if (!chunk.empty()) sendBody(chunk.data(), chunk.size());
  } else {
    sendBody(data, len);
  }
  if (upstream_request_ && relayShouldPause(down_.queuedBytes())) upstream_request_->pauseReading();
}

// The client has the whole answer once the last bytes its Content-Length promised are written, so
// the answer is counted just before, as one written with its head is (count() is idempotent).
void Exchange::sendBody(const char* data, size_t len) {
  if (body_left_ != UINT64_MAX) {
    body_left_ -= std::min<uint64_t>(len, body_left_);
    if (body_left_ == 0) count();
  }
  down_.sendData(data, len);
}

void Exchange::onResponseTrailers(const base::HeaderMap& trailers) {
  if (response_started_ && !finished_) response_trailers_ = trailers;
}

void Exchange::onResponseComplete() {
  if (finished_) return;
  if (mirror_) mirror_.onResponseComplete();
  count();
  if (route_ != nullptr && route_->body_filters) {
    std::string tail;
    chain_.runResponseBody(tail, true, *this);
    if (!tail.empty()) down_.sendData(tail.data(), tail.size());
  }
  if (!response_trailers_.empty()) down_.sendTrailers(response_trailers_);
  down_.sendEnd();
  response_done_ = true;
  if (!request_done_) keep_alive_ = false;  // the rest of the client's body is not read
  finish();
}

void Exchange::onTunnelData(const char* data, size_t len) {
  if (len == 0) {  // the upstream closed its side; the connection closes itself
    down_.closeAfterWrites();
    return;
  }
  if (!down_.writeTunnel(data, len)) return;
  if (relayShouldPause(down_.queuedBytes())) upstream_request_->pauseReading();
}

void Exchange::onClientTunnelData(const char* data, size_t len) {
  if (!upstream_request_ || !upstream_request_->hasStream()) {
    down_.abort();
    return;
  }
  if (len == 0) {
    upstream_request_->shutdownWrite();
    return;
  }
  if (!upstream_request_->writeTunnel(data, len)) return;
  if (relayShouldPause(upstream_request_->queuedBytes())) down_.pauseReading();
}

void Exchange::finish() {
  if (finished_) return;
  finished_ = true;
  logAndCount();
  chain_.complete(status_);
  down_.exchangeDone(keep_alive_);  // destroys this exchange: nothing may follow
}

void Exchange::count() {
  if (counted_) return;
  counted_ = true;
  double seconds = secondsSince(start_);
  ctx_.countRequest(route_index_, head_.method, status_, seconds,
                    trace_.sampled() ? trace_.traceId() : std::string_view());
  if (route_index_ >= 0) {  // the status page's rolling windows of the route (this snapshot's)
    if (StatusSeries* w = snapshot_->routes[static_cast<size_t>(route_index_)].window.get()) {
      w->record(static_cast<size_t>(ctx_.index), static_cast<int64_t>(uv_now(ctx_.loop)), status_,
                seconds);
    }
  }
}

void Exchange::logAndCount() {
  count();
  bool logged = ctx_.access_log.enabled();
  if (!logged && !spans_.active()) return;
  auto end = std::chrono::steady_clock::now();
  double seconds = std::chrono::duration<double>(end - start_).count();
  AccessRecord r;
  r.time = wall_start_;
  r.request_id = request_id_;
  r.remote = down_.clientIp();
  r.method = head_.method;
  r.host = original_host_;
  std::string masked;
  if (!redact_query_.empty()) masked = filters::maskQueryParameter(original_target_, redact_query_);
  r.path = redact_query_.empty() ? std::string_view(original_target_) : std::string_view(masked);
  r.protocol = down_.protocol();
  r.status = status_;
  r.bytes_sent = down_.bytesSent();
  r.duration_ms = seconds * 1000;
  if (route_ != nullptr) r.route = route_->config->name;
  if (upstream_ != nullptr && upstream_request_ && upstream_request_->target() != nullptr) {
    r.upstream = upstream_->config->name;
    r.target = upstream_request_->target()->address;
    if (upstream_ms_ >= 0) r.upstream_duration_ms = upstream_ms_;
  }
  if (!log_cache_.empty()) r.cache = log_cache_;
  if (!log_ratelimit_.empty()) r.ratelimit = log_ratelimit_;
  if (termination_ != nullptr) r.termination = termination_;
  r.trace_id = trace_.traceId();
  r.span_id = trace_.spanId();
  if (spans_.active()) recordServerSpan(r, end);
  if (!logged) return;
  if (const std::string* ua = head_.headers.get("user-agent")) r.user_agent = *ua;
  if (const std::string* ref = head_.headers.get("referer")) r.referer = *ref;
  ctx_.access_log.append(r);
}

void Exchange::recordServerSpan(const AccessRecord& r, std::chrono::steady_clock::time_point end) {
  tracing::ServerSpanFacts f;
  f.span.method = r.method;
  f.span.route = r.route;
  f.span.path = std::string_view(r.path).substr(0, r.path.find('?'));  // as received, no query
  f.span.scheme = down_.secure() ? "https" : "http";
  f.span.host = stripPort(r.host);
  f.span.client_ip = r.remote;
  f.span.protocol = head_.version_major == 2 ? "2" : head_.version_minor == 0 ? "1.0" : "1.1";
  f.span.upstream = r.upstream;
  f.span.target = r.target;
  f.span.ratelimit = log_ratelimit_;
  f.span.cache = log_cache_;
  f.span.status = r.status;
  f.tries = upstream_request_ ? upstream_request_->tries() : 0;
  f.end = end;
  spans_.finish(trace_, f);
}

}  // namespace sluice::proxy
