// The response side of an UpstreamConnection: llhttp's callbacks, which build the ResponseHead
// (bounded by kMaxUpstreamHead), check it (validResponseHead), and hand head, body, trailers and
// the end to the connection's handler. The connection itself (connect, TLS, writes, timeouts,
// pooling) is upstream_connection.cc, as ClientConnection's request parsing is
// client_request_parser.cc.
#include <cstring>

#include "proxy/http1/byte_scan.h"
#include "proxy/upstream/upstream_connection.h"

namespace sluice::proxy {

namespace {
UpstreamConnection* self(llhttp_t* p) {
  return static_cast<UpstreamConnection*>(p->data);
}
}  // namespace

const llhttp_settings_t* UpstreamConnection::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t x;
    llhttp_settings_init(&x);
    x.on_message_begin = onMessageBegin;
    x.on_status = onStatus;
    x.on_header_field = onHeaderField;
    x.on_header_value = onHeaderValue;
    x.on_header_value_complete = onHeaderValueComplete;
    x.on_headers_complete = onHeadersComplete;
    x.on_body = onBody;
    x.on_message_complete = onMessageComplete;
    return x;
  }();
  return &s;
}

int UpstreamConnection::onMessageBegin(llhttp_t* p) {
  UpstreamConnection* c = self(p);
  c->head_.status = 0;
  c->head_.reason.clear();
  c->nfields_ = 0;  // the field vector is truncated when the head is complete
  c->field_open_ = false;
  c->head_bytes_ = 0;
  return 0;
}

// An upstream's head (and trailers) may not grow without bound in sluice's memory: past
// kMaxUpstreamHead bytes the response is invalid (502), as nginx's "upstream sent too big header".
bool UpstreamConnection::countHeadBytes(size_t len) {
  head_bytes_ += len;
  return head_bytes_ <= kMaxUpstreamHead;
}

int UpstreamConnection::onStatus(llhttp_t* p, const char* at, size_t len) {
  UpstreamConnection* c = self(p);
  if (!c->countHeadBytes(len)) return HPE_USER;
  c->head_.reason.append(at, len);
  return 0;
}

base::Header& UpstreamConnection::openField() {
  std::vector<base::Header>& f = head_.headers.fields();
  if (!field_open_) {
    if (nfields_ == f.size()) f.emplace_back();
    f[nfields_].name.clear();
    f[nfields_].value.clear();
    field_open_ = true;
  }
  return f[nfields_];
}

int UpstreamConnection::onHeaderField(llhttp_t* p, const char* at, size_t len) {
  UpstreamConnection* c = self(p);
  if (!c->countHeadBytes(len + 4)) return HPE_USER;  // ": " and CRLF too
  c->openField().name.append(at, len);
  return 0;
}

int UpstreamConnection::onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  UpstreamConnection* c = self(p);
  if (!c->countHeadBytes(len)) return HPE_USER;
  c->openField().value.append(at, len);
  return 0;
}

int UpstreamConnection::onHeaderValueComplete(llhttp_t* p) {
  UpstreamConnection* c = self(p);
  base::Header& h = c->openField();
  c->field_open_ = false;
  if (h.name.empty()) return HPE_USER;  // ": value": llhttp 8.1 lets an empty name through
  base::toLowerInPlace(h.name);
  std::string& v = h.value;
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  if (hasFieldValueControlBytes(v)) return HPE_USER;
  ++c->nfields_;
  return 0;
}

// What llhttp lets through but a gateway must not relay (502 instead): a major version other
// than 1 on an HTTP/1 connection, a status outside 100-599 (RFC 9110 §15), control bytes in the
// reason phrase, and a transfer coding
// other than chunked alone, which sluice cannot decode and must not relay under another label
// (RFC 9112 §6.1; nginx refuses it the same way).
bool UpstreamConnection::validResponseHead(llhttp_t* p, const base::ResponseHead& head,
                                           bool bodiless) {
  if (llhttp_get_http_major(p) != 1 || head.status < 100 || head.status > 599) return false;
  if (hasFieldValueControlBytes(head.reason)) return false;  // RFC 9112 §4: no NUL and the like
  if (bodiless) return true;
  size_t codings = head.headers.count("transfer-encoding");
  if (codings == 0) return true;
  if (codings > 1) return false;
  std::string_view te = *head.headers.get("transfer-encoding");
  while (!te.empty() && (te.front() == ' ' || te.front() == '\t')) te.remove_prefix(1);
  while (!te.empty() && (te.back() == ' ' || te.back() == '\t')) te.remove_suffix(1);
  if (te.size() != 7) return false;
  for (size_t i = 0; i < 7; ++i) {
    char ch = te[i];
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
    if (ch != "chunked"[i]) return false;
  }
  return true;
}

// Return 1 (no body) for bodiless responses whatever their framing fields say: 1xx, 204, 304 and
// answers to HEAD (RFC 9112 §6.3).
int UpstreamConnection::onHeadersComplete(llhttp_t* p) {
  UpstreamConnection* c = self(p);
  std::vector<base::Header>& fields = c->head_.headers.fields();
  fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(c->nfields_), fields.end());
  int status = llhttp_get_status_code(p);
  c->head_.status = status;
  c->head_.version_minor = llhttp_get_http_minor(p);
  bool interim = status >= 100 && status < 200 && status != 101;
  if (!validResponseHead(p, c->head_,
                         status < 200 || status == 204 || status == 304 || c->head_request_)) {
    return HPE_USER;  // a bad response: 502 when nothing of it reached the client
  }
  if (status == 101) {
    c->upgrade_ = true;
  }
  c->interim_ = interim;
  if (c->handler_ != nullptr) c->handler_->onUpstreamHead(c->head_, interim);
  if (c->state_ == State::Tunnel) return 2;  // the 101 was taken: llhttp stops at its end
  if (c->state_ != State::Active) return HPE_USER;
  c->nfields_ = c->head_.headers.size();  // trailers, if any, follow what the handler kept
  c->trailers_from_ = c->nfields_;
  if (status == 101) return 2;
  if (interim || status == 204 || status == 304 || c->head_request_) return 1;
  return 0;
}

int UpstreamConnection::onBody(llhttp_t* p, const char* at, size_t len) {
  UpstreamConnection* c = self(p);
  if (c->handler_ != nullptr) c->handler_->onUpstreamBody(at, len);
  return c->state_ == State::Active ? 0 : HPE_USER;
}

int UpstreamConnection::onMessageComplete(llhttp_t* p) {
  UpstreamConnection* c = self(p);
  if (c->interim_) {
    c->interim_ = false;
    return 0;  // the final response follows on the same connection
  }
  if (c->upgrade_) return 0;  // llhttp pauses with HPE_PAUSED_UPGRADE
  if (c->nfields_ > c->trailers_from_ && c->handler_ != nullptr) {
    // A chunked response's trailers (rare: built only when there are some).
    const std::vector<base::Header>& f = c->head_.headers.fields();
    base::HeaderMap trailers;
    for (size_t i = c->trailers_from_; i < c->nfields_; ++i) trailers.add(f[i].name, f[i].value);
    c->handler_->onUpstreamTrailers(trailers);
  }
  c->complete_ = true;
  return HPE_PAUSED;
}

}  // namespace sluice::proxy
