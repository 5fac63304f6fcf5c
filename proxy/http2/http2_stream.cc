#include "proxy/http2/http2_stream.h"

#include <cstring>

#include "proxy/http2/http2_session.h"
#include "proxy/stream/exchange.h"
#include "proxy/stream/local_reply.h"

namespace sluice::proxy {

namespace {

ssize_t readCallback(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                     nghttp2_data_source* source, void*) {
  return static_cast<Http2Stream*>(source->ptr)->readBody(buf, length, flags);
}

}  // namespace

Http2Stream::Http2Stream(Http2ServerSession& session, int32_t id)
    : session_(session),
      id_(id),
      builder_(session.requestLimits()),
      start_(std::chrono::steady_clock::now()) {}

Http2Stream::~Http2Stream() {
  exchange_.reset();  // logs what the client did not get (499, client_closed)
}

const std::string& Http2Stream::clientIp() const {
  return session_.transport().clientIp();
}
const unsigned char* Http2Stream::clientAddr16() const {
  return session_.transport().clientAddr16();
}
bool Http2Stream::secure() const {
  return session_.transport().secure();
}
const std::string& Http2Stream::clientSubject() const {
  return session_.transport().clientSubject();
}

void Http2Stream::onHeaders(bool end_stream) {
  WorkerContext& ctx = session_.ctx();
  if (in_trailers_) {  // the request's trailers (always with END_STREAM)
    base::HeaderMap trailers;
    if (builder_.finishTrailers(trailers) != 0) {
      if (exchange_) {
        exchange_->onRequestError(431);
      } else {
        resetStream(NGHTTP2_REFUSED_STREAM);
      }
      return;
    }
    if (exchange_ && !trailers.empty()) exchange_->onRequestTrailers(trailers);
    if (end_stream) onRequestEnd();
    return;
  }
  RequestMeta meta;
  int status = builder_.finishHead(end_stream, head_, meta);
  if (status != 0) {
    request_done_ = end_stream;
    reject(status);
    return;
  }
  if (!end_stream) {
    body_deadline_ms_ =
        uv_now(ctx.loop) + static_cast<uint64_t>(ctx.snapshot->config->limits.idle_timeout.count());
  }
  // head_ served only a refused request's log line: the exchange owns the head from here.
  exchange_ = std::make_unique<Exchange>(*this, ctx, ctx.snapshot, std::move(head_), meta, start_);
  exchange_->start();  // may answer at once, and end the exchange
  if (end_stream) onRequestEnd();
}

void Http2Stream::onData(const uint8_t* data, size_t len) {
  WorkerContext& ctx = session_.ctx();
  body_received_ += len;
  if (!exchange_ || reset_) {
    // Answered already (or refused): the rest of the body is read and dropped.
    nghttp2_session_consume_stream(session_.raw(), id_, len);
    return;
  }
  if (body_received_ > ctx.snapshot->config->limits.max_body_bytes) {
    nghttp2_session_consume_stream(session_.raw(), id_, len);
    body_deadline_ms_ = 0;
    exchange_->onRequestError(413);  // answers (or resets, when the response began)
    return;
  }
  body_deadline_ms_ =
      uv_now(ctx.loop) + static_cast<uint64_t>(ctx.snapshot->config->limits.idle_timeout.count());
  if (paused_) {
    unconsumed_ += len;  // given back when the exchange asks for more (resumeReading)
  } else {
    nghttp2_session_consume_stream(session_.raw(), id_, len);
  }
  exchange_->onRequestBody(reinterpret_cast<const char*>(data), len);
}

void Http2Stream::onRequestEnd() {
  if (request_done_) return;
  request_done_ = true;
  body_deadline_ms_ = 0;
  if (exchange_) exchange_->onRequestEnd();
}

void Http2Stream::onClosed(uint32_t error_code) {
  reset_ = true;
  (void)error_code;  // a cancelled exchange logs what went out (499 if nothing did)
  exchange_.reset();
}

void Http2Stream::reject(int status) {
  WorkerContext& ctx = session_.ctx();
  std::string id = ctx.newRequestId();
  const std::string* accept = head_.headers.get("accept");
  bool json = accept != nullptr && prefersJson(*accept);
  std::string body = localReplyBody(status, "", id, json);
  base::ResponseHead r;
  r.status = status;
  r.headers.add("date", ctx.httpDate());
  r.headers.add("content-type", json ? "application/json" : "text/plain; charset=utf-8");
  r.headers.add("x-request-id", id);
  if (status == 405) r.headers.add("allow", kAllowedMethods);
  ResponseHeadInfo info;
  info.has_length = true;
  info.length = body.size();
  info.bodiless = head_.method == "HEAD";
  sendHeaders(r, info);
  if (!info.bodiless) sendData(body.data(), body.size());
  sendEnd();
  double seconds = secondsSince(start_);
  ctx.countRequest(-1, head_.method.empty() ? "OTHER" : head_.method, status, seconds);
  if (ctx.access_log.enabled()) {
    AccessRecord a;
    a.time = std::chrono::system_clock::now();
    a.request_id = id;
    a.remote = clientIp();
    a.method = head_.method;
    a.host = head_.host;
    a.path = head_.target;
    a.protocol = protocol();
    a.status = status;
    a.bytes_sent = bytes_sent_;
    a.duration_ms = seconds * 1000;
    ctx.access_log.append(a);
  }
}

void Http2Stream::resetStream(uint32_t code) {
  if (reset_) return;
  reset_ = true;
  nghttp2_submit_rst_stream(session_.raw(), NGHTTP2_FLAG_NONE, id_, code);
  session_.scheduleSend();
}

// ---- response events (Downstream) ----

void Http2Stream::sendContinue() {
  if (reset_ || submitted_) return;
  FieldList f;
  interimFields(nullptr, f);
  nghttp2_submit_headers(session_.raw(), NGHTTP2_FLAG_NONE, id_, nullptr, f.nv(), f.size(),
                         nullptr);
  session_.scheduleSend();
}

void Http2Stream::sendInterim(base::ResponseHead& head) {
  if (reset_ || submitted_ || head.status == 101) return;
  FieldList f;
  interimFields(&head, f);
  nghttp2_submit_headers(session_.raw(), NGHTTP2_FLAG_NONE, id_, nullptr, f.nv(), f.size(),
                         nullptr);
  session_.scheduleSend();
}

void Http2Stream::sendHeaders(base::ResponseHead& head, const ResponseHeadInfo& info) {
  if (reset_ || submitted_) return;
  responseFields(head, info, fields_);
  // A proxied head is the upstream's, whose field names its parser lower-cased (or HTTP/2 sent
  // lower-case), plus sluice's own: nghttp2 need not copy and lower-case them.
  names_lower_ = info.proxied != nullptr;
  head_held_ = true;
  ended_ = false;
  for (size_t i = 0; i < fields_.size(); ++i)
    bytes_sent_ += fields_.name(i).size() + fields_.value(i).size() + 4;
}

void Http2Stream::submitHead(bool complete) {
  head_held_ = false;
  submitted_ = true;
  if (reset_) return;
  // nghttp2 reads the fields where they are when it encodes the HEADERS frame: fields_ stays as
  // it is from here on (nothing changes a submitted head), for as long as the stream lives, and
  // nghttp2 drops a frame whose stream closed before it went out without reading it.
  fields_.markNoCopy(names_lower_);
  int rc;
  if (complete) {
    rc = nghttp2_submit_response(session_.raw(), id_, fields_.nv(), fields_.size(), nullptr);
  } else {
    nghttp2_data_provider provider;
    provider.source.ptr = this;
    provider.read_callback = readCallback;
    rc = nghttp2_submit_response(session_.raw(), id_, fields_.nv(), fields_.size(), &provider);
  }
  if (rc != 0) resetStream(NGHTTP2_INTERNAL_ERROR);
  session_.scheduleSend();
}

void Http2Stream::sendData(const char* data, size_t len) {
  if (reset_ || len == 0) return;
  if (body_off_ > 0 && body_off_ == body_.size()) {
    body_.clear();
    body_off_ = 0;
  }
  body_.append(data, len);
  bytes_sent_ += len;
  if (head_held_) {
    submitHead(false);
  } else if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_.raw(), id_);
    session_.scheduleSend();
  }
}

void Http2Stream::sendTrailers(const base::HeaderMap& trailers) {
  if (reset_) return;
  trailers_ = trailers;
}

void Http2Stream::sendEnd() {
  if (reset_ || ended_) return;
  ended_ = true;
  if (head_held_) {
    submitHead(pendingBody() == 0 && trailers_.empty());
    return;
  }
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_.raw(), id_);
  }
  session_.scheduleSend();
}

void Http2Stream::flush() {
  if (head_held_ && !reset_) submitHead(false);
  session_.scheduleSend();
}

bool Http2Stream::takeBackHead() {
  if (!head_held_) return false;
  head_held_ = false;
  fields_.clear();
  bytes_sent_ = 0;
  return true;
}

ssize_t Http2Stream::readBody(uint8_t* buf, size_t length, uint32_t* flags) {
  size_t n = std::min(pendingBody(), length);
  if (n > 0) {
    std::memcpy(buf, body_.data() + body_off_, n);
    body_off_ += n;
    if (body_off_ == body_.size()) {
      body_.clear();
      body_off_ = 0;
    }
    stall_since_ms_ = 0;
  }
  if (pendingBody() == 0 && ended_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!trailers_.empty()) {
      FieldList f;
      trailerFields(trailers_, f);
      trailers_.clear();
      if (!f.empty() && nghttp2_submit_trailer(session_.raw(), id_, f.nv(), f.size()) == 0) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) {
    deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

void Http2Stream::onResponseSent() {
  response_sent_ = true;
  if (!request_done_) {
    // The whole response went out before the request ended: the client may stop sending
    // (RFC 9113 §8.1).
    resetStream(NGHTTP2_NO_ERROR);
  }
}

size_t Http2Stream::queuedBytes() const {
  size_t connection = session_.connectionQueued();
  size_t pending = pendingBody();
  if (pending == 0 || reset_) return connection;
  if (session_.closing()) return pending + connection;  // never sent: the upstream must wait
  int32_t stream_window = nghttp2_session_get_stream_remote_window_size(session_.raw(), id_);
  int32_t conn_window = nghttp2_session_get_remote_window_size(session_.raw());
  int32_t window = std::max(0, std::min(stream_window, conn_window));
  size_t held = pending > static_cast<size_t>(window) ? pending - static_cast<size_t>(window) : 0;
  size_t queued = held + connection;
  if (queued > 0) session_.waitForDrain(id_);  // onClientDrained once it is 0 again
  return queued;
}

void Http2Stream::notifyDrained() {
  if (exchange_) exchange_->onClientDrained();
}

void Http2Stream::pauseReading() {
  paused_ = true;
}

void Http2Stream::resumeReading() {
  if (!paused_) return;
  paused_ = false;
  if (unconsumed_ > 0 && !reset_) {
    nghttp2_session_consume_stream(session_.raw(), id_, unconsumed_);
    unconsumed_ = 0;
    session_.scheduleSend();  // the WINDOW_UPDATE
  }
}

void Http2Stream::abort() {
  resetStream(NGHTTP2_INTERNAL_ERROR);
}

void Http2Stream::exchangeDone(bool) {
  exchange_.reset();  // the exchange's last action: it is destroyed here
  body_deadline_ms_ = 0;
  session_.scheduleSend();
}

bool Http2Stream::checkDeadline(uint64_t now_ms) {
  WorkerContext& ctx = session_.ctx();
  const config::Limits& limits = ctx.snapshot->config->limits;
  stalled_conn_ = false;
  if (pendingBody() > 0 && !reset_ && submitted_) {
    int32_t stream_window = nghttp2_session_get_stream_remote_window_size(session_.raw(), id_);
    int32_t conn_window = nghttp2_session_get_remote_window_size(session_.raw());
    if (stream_window > 0 && conn_window > 0) {
      stall_since_ms_ = 0;
    } else if (stall_since_ms_ == 0) {
      stall_since_ms_ = now_ms;
    } else if (now_ms - stall_since_ms_ >= static_cast<uint64_t>(limits.send_timeout.count())) {
      // The client gives no window for its response: the stream ends, and with it what sluice
      // held for it.
      stalled_conn_ = conn_window <= 0;
      session_.count(Http2Abuse::ZeroWindow);
      if (exchange_) exchange_->onClientSendTimeout();
      resetStream(NGHTTP2_CANCEL);
      std::string().swap(body_);
      body_off_ = 0;
      exchange_.reset();
      return true;
    }
  }
  if (body_deadline_ms_ != 0 && now_ms >= body_deadline_ms_ && exchange_ && !request_done_) {
    if (paused_) {
      body_deadline_ms_ = now_ms + static_cast<uint64_t>(limits.idle_timeout.count());
    } else {
      body_deadline_ms_ = 0;
      exchange_->onRequestError(408);  // the request body stopped coming
      return false;
    }
  }
  return false;
}

}  // namespace sluice::proxy
