#include "proxy/upstream/discovery/http_call.h"

#include <netdb.h>

#include "proxy/net/uv_handle.h"
#include "proxy/upstream/resolver.h"

namespace sluice::proxy::discovery {
namespace {
constexpr size_t kReadBuffer = 64 * 1024;
constexpr unsigned kKeepAliveSeconds = 10;  // a silent etcd (cable pulled) is noticed by TCP
}  // namespace

HttpCall::HttpCall(uv_loop_t* loop, std::string request, Handler* handler)
    : loop_(loop), request_(std::move(request)), handler_(handler) {
  read_buf_.resize(kReadBuffer);
  llhttp_init(&parser_, HTTP_RESPONSE, settings());
  parser_.data = this;
}

HttpCall* HttpCall::start(uv_loop_t* loop, const config::Address& endpoint, std::string request,
                          Handler* handler, std::string& error) {
  auto* c = new HttpCall(loop, std::move(request), handler);
  int rc = uv_tcp_init(loop, &c->tcp_);
  if (rc != 0) {
    error = std::string("uv_tcp_init: ") + uv_strerror(rc);
    delete c;  // libuv keeps nothing of a handle whose init failed
    return nullptr;
  }
  c->tcp_open_ = true;
  c->tcp_.data = c;
  ResolvedTarget literal;
  if (parseIpLiteral(endpoint.host, endpoint.port, literal)) {
    if (!c->connect(reinterpret_cast<const sockaddr*>(&literal.addr), error)) {
      c->close();
      return nullptr;
    }
    return c;
  }
  c->gai_.data = c;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(endpoint.port);
  rc = uv_getaddrinfo(
      loop, &c->gai_,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* self = static_cast<HttpCall*>(req->data);
        self->gai_pending_ = false;
        if (self->closed_) {
          if (res != nullptr) uv_freeaddrinfo(res);
          self->maybeFree();
          return;
        }
        std::string err = status != 0 ? std::string(uv_strerror(status)) : "no addresses";
        bool ok = status == 0 && res != nullptr && res->ai_addr != nullptr &&
                  self->connect(res->ai_addr, err);
        if (res != nullptr) uv_freeaddrinfo(res);
        if (!ok) self->fail("resolve: " + err);
      },
      endpoint.host.c_str(), port.c_str(), &hints);
  if (rc != 0) {
    error = std::string("uv_getaddrinfo: ") + uv_strerror(rc);
    c->close();
    return nullptr;
  }
  c->gai_pending_ = true;
  return c;
}

bool HttpCall::connect(const sockaddr* addr, std::string& error) {
  connect_req_.data = this;
  int rc = uv_tcp_connect(&connect_req_, &tcp_, addr, [](uv_connect_t* req, int status) {
    auto* self = static_cast<HttpCall*>(req->data);
    if (self->closed_) return;  // cancelled: the close callback frees it
    if (status != 0) {
      self->fail(std::string("connect: ") + uv_strerror(status));
      return;
    }
    // On the connected socket (libuv would apply its own 60 s keepalive to a flag set before):
    // best effort, the call works without them.
    uvCheck(uv_tcp_nodelay(&self->tcp_, 1), "etcd connection: uv_tcp_nodelay");
    uvCheck(uv_tcp_keepalive(&self->tcp_, 1, kKeepAliveSeconds),
            "etcd connection: uv_tcp_keepalive");
    auto* stream = reinterpret_cast<uv_stream_t*>(&self->tcp_);
    self->write_req_.data = self;
    uv_buf_t b = uv_buf_init(self->request_.data(), static_cast<unsigned>(self->request_.size()));
    int w = uv_write(&self->write_req_, stream, &b, 1, [](uv_write_t* wr, int st) {
      auto* me = static_cast<HttpCall*>(wr->data);
      if (!me->closed_ && st != 0) me->fail(std::string("write: ") + uv_strerror(st));
    });
    if (w != 0) {
      self->fail(std::string("write: ") + uv_strerror(w));
      return;
    }
    int r = uv_read_start(
        stream,
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* me = static_cast<HttpCall*>(h->data);
          *buf = uv_buf_init(me->read_buf_.data(), static_cast<unsigned>(me->read_buf_.size()));
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
          static_cast<HttpCall*>(s->data)->onRead(nread, buf);
        });
    if (r != 0) self->fail(std::string("read: ") + uv_strerror(r));
  });
  if (rc != 0) {
    error = std::string("connect: ") + uv_strerror(rc);
    return false;
  }
  return true;
}

void HttpCall::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (closed_) return;
  if (nread == UV_EOF) {
    if (llhttp_finish(&parser_) == HPE_OK && ended_) return;  // the end was reported already
    if (!closed_) fail("connection closed before the response ended");
    return;
  }
  if (nread < 0) {
    fail(std::string("read: ") + uv_strerror(static_cast<int>(nread)));
    return;
  }
  llhttp_errno_t err = llhttp_execute(&parser_, buf->base, static_cast<size_t>(nread));
  if (closed_) return;  // a handler cancelled, or the response ended
  if (err != HPE_OK) fail(std::string("bad HTTP response: ") + llhttp_errno_name(err));
}

const llhttp_settings_t* HttpCall::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t x;
    llhttp_settings_init(&x);
    x.on_headers_complete = [](llhttp_t* p) -> int {
      auto* self = static_cast<HttpCall*>(p->data);
      if (self->handler_ != nullptr) self->handler_->onResponseHead(llhttp_get_status_code(p));
      return self->closed_ ? HPE_USER : HPE_OK;
    };
    x.on_body = [](llhttp_t* p, const char* at, size_t len) -> int {
      auto* self = static_cast<HttpCall*>(p->data);
      if (self->handler_ != nullptr) self->handler_->onBody(std::string_view(at, len));
      return self->closed_ ? HPE_USER : HPE_OK;
    };
    x.on_message_complete = [](llhttp_t* p) -> int {
      auto* self = static_cast<HttpCall*>(p->data);
      self->ended_ = true;
      Handler* h = self->handler_;
      self->close();
      if (h != nullptr) h->onEnd();
      return HPE_USER;  // nothing more is read
    };
    return x;
  }();
  return &s;
}

void HttpCall::fail(std::string error) {
  Handler* h = handler_;
  close();
  if (h != nullptr) h->onFail(std::move(error));
}

void HttpCall::cancel() {
  close();
}

void HttpCall::close() {
  handler_ = nullptr;
  if (closed_) return;
  closed_ = true;
  if (gai_pending_) {
    // A lookup already running cannot be cancelled (uv_cancel fails with EBUSY): its callback
    // comes anyway, sees closed_ and frees the call. Either outcome is fine.
    int rc = uv_cancel(reinterpret_cast<uv_req_t*>(&gai_));
    static_cast<void>(rc);
  }
  uvClose(&tcp_, [](uv_handle_t* h) {
    auto* self = static_cast<HttpCall*>(h->data);
    self->tcp_open_ = false;
    self->maybeFree();
  });
}

void HttpCall::maybeFree() {
  if (!tcp_open_ && !gai_pending_) delete this;
}

}  // namespace sluice::proxy::discovery
