// The request side of a ClientConnection: the request-line gate in front of llhttp, and llhttp's
// callbacks, which build the RequestHead, enforce the head and body limits, apply the RFC 9112
// head checks (request_head_check.h), and start an Exchange when a head is complete.
#include <cstring>

#include "proxy/http1/client_connection.h"
#include "proxy/http1/request_head_check.h"
#include "proxy/http1/request_line.h"
#include "proxy/stream/exchange.h"

namespace sluice::proxy {

namespace {
ClientConnection* self(llhttp_t* p) {
  return static_cast<ClientConnection*>(p->data);
}

// Per-line bytes the parser does not hand to span callbacks (": ", CRLF). Only for
// req_->head_bytes, a lower bound of the head read so far; max_header_bytes is checked against the
// scanner's exact count (HeadScanner::headBytes), which never counts a byte the client did not
// send.
constexpr size_t kLineOverhead = 4;
}  // namespace

// Holds bytes until the request line (after any empty lines) is whole, then lets it through,
// rewritten by fixRequestLine when llhttp could not read it. Swap: `owned` now holds what to
// parse instead of `data` (it is built before it replaces anything `data` points into).
ClientConnection::Gate ClientConnection::gateRequestLine(const char* data, size_t len,
                                                         std::string& owned) {
  if (!req_->line_buf.empty()) req_->line_buf.append(data, len);
  std::string_view view = req_->line_buf.empty() ? std::string_view(data, len) : req_->line_buf;
  size_t start = view.find_first_not_of("\r\n");
  size_t lf = start == std::string_view::npos ? start : view.find('\n', start);
  if (lf == std::string_view::npos) {
    if (view.size() <= ctx_.snapshot->config->limits.max_header_bytes) {
      if (req_->line_buf.empty()) req_->line_buf.assign(data, len);
      if (start != std::string_view::npos && req_->head_bytes == 0) {
        // A request began: the header timeout (408) applies, not the idle one.
        req_->head_bytes = 1;
        req_->request_start = std::chrono::steady_clock::now();
        startHeadTimer();
      }
      return Gate::Hold;
    }
    // Too long to be a request line we would accept: llhttp and onUrl reject it (414).
    req_->line_gate = false;
    if (req_->line_buf.empty()) return Gate::Pass;
    owned.swap(req_->line_buf);
    req_->line_buf.clear();
    return Gate::Swap;
  }
  req_->line_gate = false;
  req_->method_override.clear();
  req_->version_unsupported = false;
  RequestLineFix fix;
  fixRequestLine(view.substr(start, lf - start), fix);
  if (!fix.changed) {
    if (req_->line_buf.empty()) return Gate::Pass;
    owned.swap(req_->line_buf);
    req_->line_buf.clear();
    return Gate::Swap;
  }
  req_->method_override = std::move(fix.method);
  req_->version_unsupported = fix.unsupported_version;
  req_->scanner.countRewrite(lf - start, fix.line.size());
  std::string next;
  next.reserve(view.size() + 8);
  next.append(view.substr(0, start)).append(fix.line).append(view.substr(lf));
  owned.swap(next);
  req_->line_buf.clear();
  return Gate::Swap;
}

const llhttp_settings_t* ClientConnection::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t x;
    llhttp_settings_init(&x);
    x.on_message_begin = onMessageBegin;
    x.on_url = onUrl;
    x.on_header_field = onHeaderField;
    x.on_header_value = onHeaderValue;
    x.on_header_value_complete = onHeaderValueComplete;
    x.on_headers_complete = onHeadersComplete;
    x.on_chunk_header = onChunkHeader;
    x.on_body = onBody;
    x.on_message_complete = onMessageComplete;
    return x;
  }();
  return &s;
}

int ClientConnection::onMessageBegin(llhttp_t* p) {
  ClientConnection* c = self(p);
  c->req_->head = base::RequestHead{};
  c->req_->head.headers.fields().reserve(16);
  c->req_->meta = RequestMeta{};
  c->req_->field.clear();
  c->req_->value.clear();
  c->req_->in_value = false;
  c->req_->head_bytes = 1;  // counts as "a request began" for the header timeout
  c->message_done_ = false;
  c->req_->header_count = 0;
  c->req_->body_bytes = 0;
  c->req_->request_start = std::chrono::steady_clock::now();
  if (c->state_ == State::Head) c->startHeadTimer();
  return 0;
}

int ClientConnection::onUrl(llhttp_t* p, const char* at, size_t len) {
  ClientConnection* c = self(p);
  c->req_->head_bytes += len;
  if (c->req_->head_bytes > c->ctx_.snapshot->config->limits.max_header_bytes) {
    c->reject_status_ = 414;  // RFC 9112 §3: the request target alone is too long
    return HPE_USER;
  }
  c->req_->head.target.append(at, len);
  return 0;
}

int ClientConnection::onHeaderField(llhttp_t* p, const char* at, size_t len) {
  ClientConnection* c = self(p);
  if (c->req_->in_value) {
    c->req_->field.clear();
    c->req_->value.clear();
    c->req_->in_value = false;
  }
  c->req_->head_bytes += len;
  if (c->req_->scanner.headBytes() > c->ctx_.snapshot->config->limits.max_header_bytes) {
    c->reject_status_ = 431;
    return HPE_USER;
  }
  c->req_->field.append(at, len);
  return 0;
}

int ClientConnection::onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  ClientConnection* c = self(p);
  c->req_->in_value = true;
  c->req_->head_bytes += len;
  if (c->req_->scanner.headBytes() > c->ctx_.snapshot->config->limits.max_header_bytes) {
    c->reject_status_ = 431;
    return HPE_USER;
  }
  c->req_->value.append(at, len);
  return 0;
}

int ClientConnection::onHeaderValueComplete(llhttp_t* p) {
  ClientConnection* c = self(p);
  c->req_->head_bytes += kLineOverhead;
  if (++c->req_->header_count > c->ctx_.snapshot->config->limits.max_headers ||
      c->req_->scanner.headBytes() > c->ctx_.snapshot->config->limits.max_header_bytes) {
    c->reject_status_ = 431;
    return HPE_USER;
  }
  std::string& v = c->req_->value;
  if (int status = checkFieldLine(c->req_->field, v); status != 0) {
    c->reject_status_ = status;
    return HPE_USER;
  }
  base::toLowerInPlace(c->req_->field);
  c->req_->head.headers.add(std::move(c->req_->field), std::move(v));
  c->req_->field.clear();
  c->req_->value.clear();
  c->req_->in_value = false;
  return 0;
}

int ClientConnection::onHeadersComplete(llhttp_t* p) {
  ClientConnection* c = self(p);
  base::RequestHead& h = c->req_->head;
  RequestMeta& m = c->req_->meta;
  const config::Limits& limits = c->ctx_.snapshot->config->limits;
  // The whole head is scanned now: request line + fields + the empty line, exactly.
  if (c->req_->scanner.headBytes() > limits.max_header_bytes) {
    c->reject_status_ = 431;
    return HPE_USER;
  }
  if (!c->req_->method_override.empty()) {
    h.method = std::move(c->req_->method_override);
    c->req_->method_override.clear();
  } else {
    h.method = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
  }
  // RFC 9112 rules (request_head_check.h): version, target, Host, framing, Expect, Upgrade.
  ParsedHead parsed;
  parsed.http_major = llhttp_get_http_major(p);
  parsed.http_minor = llhttp_get_http_minor(p);
  parsed.version_unsupported = c->req_->version_unsupported;
  parsed.keep_alive = llhttp_should_keep_alive(p) != 0;
  parsed.upgrade = p->upgrade != 0;
  parsed.content_length = p->content_length;
  HeadVerdict verdict = checkRequestHead(h, parsed, limits.max_body_bytes);
  m = verdict.meta;
  if (!verdict.ok()) {
    c->reject_status_ = verdict.status;
    return HPE_USER;
  }
  p->upgrade = m.upgrade ? 1 : 0;  // HTTP/1.0 and h2c upgrades are served as plain requests
  // A body must keep coming: idle_timeout between two of its reads (see checkDeadline).
  c->deadline_ms_ = m.framing == BodyFraming::None ? 0 : c->bodyDeadline();
  c->state_ = State::Exchange;
  c->beginExchange();
  if (c->state_ == State::Closing) return HPE_USER;
  return 0;
}

void ClientConnection::beginExchange() {
  ConnectionQueue::unlink(room_link_);  // busy now: never closed to make room
  req_->writer.begin(req_->head.version_minor, req_->meta);
  exchange_ = std::make_unique<Exchange>(*this, ctx_, ctx_.snapshot, std::move(req_->head),
                                         req_->meta, req_->request_start);
  req_->head.headers.fields().clear();  // a chunked body's trailer fields are parsed into it
  exchange_->start();
}

// A chunk that announces more than max_body_bytes allows is refused before its bytes arrive.
int ClientConnection::onChunkHeader(llhttp_t* p) {
  ClientConnection* c = self(p);
  uint64_t limit = c->ctx_.snapshot->config->limits.max_body_bytes;
  if (p->content_length > limit || c->req_->body_bytes + p->content_length > limit) {
    c->reject_status_ = 413;
    return HPE_USER;
  }
  return 0;
}

int ClientConnection::onBody(llhttp_t* p, const char* at, size_t len) {
  ClientConnection* c = self(p);
  c->req_->body_bytes += len;
  if (c->req_->body_bytes > c->ctx_.snapshot->config->limits.max_body_bytes) {
    c->reject_status_ = 413;
    return HPE_USER;
  }
  if (c->state_ == State::Exchange) c->deadline_ms_ = c->bodyDeadline();
  if (c->exchange_) c->exchange_->onRequestBody(at, len);
  return c->state_ == State::Closing ? HPE_USER : 0;
}

int ClientConnection::onMessageComplete(llhttp_t* p) {
  ClientConnection* c = self(p);
  if (c->state_ == State::Closing) return HPE_USER;
  c->message_done_ = true;
  if (c->state_ == State::Exchange) c->deadline_ms_ = 0;  // the body is in
  if (c->exchange_) {
    // A chunked body's trailer fields were parsed into req_->head (the head itself went to the
    // exchange).
    if (!c->req_->head.headers.empty()) {
      c->exchange_->onRequestTrailers(c->req_->head.headers);
      if (c->state_ == State::Closing) return HPE_USER;
    }
    c->exchange_->onRequestEnd();
    if (c->state_ == State::Closing) return HPE_USER;
  }
  if (c->req_->meta.upgrade) return 0;  // llhttp stops with HPE_PAUSED_UPGRADE
  return HPE_PAUSED;                    // feed() regains control at every message end
}

}  // namespace sluice::proxy
