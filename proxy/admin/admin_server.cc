#include "proxy/admin/admin_server.h"

#include <llhttp.h>

#include <memory>

#include "filters/base/http_message.h"
#include "proxy/net/uv_handle.h"

namespace sluice::proxy {

namespace {
constexpr size_t kMaxAdminRequest = 1 << 20;

// One admin connection; requests are answered one at a time, then the connection closes.
struct AdminConn {
  uv_tcp_t tcp;
  llhttp_t parser;
  AdminHandler* handler;
  AdminRequest request;
  std::string url;
  std::string field;      // the header field being read, lower-cased
  bool in_value = false;  // the last callback was a value (a new name starts a new field)
  size_t received = 0;
  bool answered = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  void close() {
    if (uv_is_closing(asUvHandle(&tcp))) return;
    *alive = false;
    uvCloseDelete<AdminConn>(&tcp);
  }

  void respond(const AdminResponse& r) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + base::reasonPhrase(r.status) +
                      "\r\ncontent-type: " + r.content_type +
                      "\r\ncontent-length: " + std::to_string(r.body.size()) +
                      (r.allow.empty() ? "" : "\r\nallow: " + r.allow) +
                      "\r\ncache-control: no-store\r\nconnection: close\r\n\r\n";
    if (request.method != "HEAD") out += r.body;
    struct Write {
      uv_write_t req;
      std::string data;
    };
    auto* w = new Write;
    w->data = std::move(out);
    w->req.data = this;
    uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    int rc =
        uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp), &b, 1, [](uv_write_t* req, int) {
          auto* wr = reinterpret_cast<Write*>(req);
          static_cast<AdminConn*>(req->data)->close();
          delete wr;
        });
    if (rc != 0) {
      delete w;
      close();
    }
  }
};

int onUrl(llhttp_t* p, const char* at, size_t len) {
  static_cast<AdminConn*>(p->data)->url.append(at, len);
  return 0;
}

int onHeaderField(llhttp_t* p, const char* at, size_t len) {
  auto* c = static_cast<AdminConn*>(p->data);
  if (c->in_value) c->field.clear();
  c->in_value = false;
  for (size_t i = 0; i < len; ++i) {
    c->field.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(at[i]))));
  }
  return 0;
}

int onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  auto* c = static_cast<AdminConn*>(p->data);
  if (!c->in_value && c->field == "accept" && !c->request.accept.empty()) {
    c->request.accept += ", ";  // several Accept lines form one list
  }
  c->in_value = true;
  if (c->field == "accept") c->request.accept.append(at, len);
  return 0;
}

int onBody(llhttp_t* p, const char* at, size_t len) {
  static_cast<AdminConn*>(p->data)->request.body.append(at, len);
  return 0;
}

int onMessageComplete(llhttp_t* p) {
  auto* c = static_cast<AdminConn*>(p->data);
  c->request.method = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
  size_t q = c->url.find('?');
  c->request.path = c->url.substr(0, q);
  if (q != std::string::npos) c->request.query = c->url.substr(q + 1);
  c->answered = true;
  std::weak_ptr<bool> alive = c->alive;
  (*c->handler)(c->request, [c, alive](AdminResponse r) {
    if (auto a = alive.lock(); a && *a) c->respond(r);
  });
  return HPE_PAUSED;
}

const llhttp_settings_t* adminSettings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t x;
    llhttp_settings_init(&x);
    x.on_url = onUrl;
    x.on_header_field = onHeaderField;
    x.on_header_value = onHeaderValue;
    x.on_body = onBody;
    x.on_message_complete = onMessageComplete;
    return x;
  }();
  return &s;
}
}  // namespace

AdminServer::AdminServer(uv_loop_t* loop, AdminHandler handler)
    : loop_(loop), handler_(std::move(handler)) {}

AdminServer::~AdminServer() {
  close();
}

int AdminServer::listen(const std::string& host, uint16_t port) {
  sockaddr_storage addr{};
  int r = uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (r != 0) r = uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr));
  if (r != 0) return r;
  r = tcp_.open([this](uv_tcp_t* t) { return uv_tcp_init(loop_, t); });
  if (r != 0) return r;
  tcp_.get()->data = this;
  r = uv_tcp_bind(tcp_.get(), reinterpret_cast<const sockaddr*>(&addr), 0);
  if (r == 0) r = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_.get()), 128, onConnection);
  if (r != 0) close();
  return r;  // the caller logs a failure
}

void AdminServer::close() {
  tcp_.close();
}

void AdminServer::onConnection(uv_stream_t* server, int status) {
  if (!uvCheck(status, "admin: accept")) return;
  auto* self = static_cast<AdminServer*>(server->data);
  auto* c = new AdminConn;
  c->handler = &self->handler_;
  if (!uvCheck(uv_tcp_init(self->loop_, &c->tcp), "admin: uv_tcp_init")) {
    delete c;  // libuv keeps nothing of a handle whose init failed
    return;
  }
  c->tcp.data = c;
  llhttp_init(&c->parser, HTTP_REQUEST, adminSettings());
  c->parser.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    c->close();
    return;
  }
  int rc = uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        thread_local char storage[16384];
        *buf = uv_buf_init(storage, sizeof storage);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* conn = static_cast<AdminConn*>(s->data);
        if (n < 0) {
          conn->close();
          return;
        }
        if (n == 0 || conn->answered) return;
        conn->received += static_cast<size_t>(n);
        llhttp_errno_t err = llhttp_execute(&conn->parser, buf->base, static_cast<size_t>(n));
        if (conn->answered) {
          uvCheck(uv_read_stop(s), "admin: uv_read_stop");
          return;
        }
        if ((err != HPE_OK && err != HPE_PAUSED) || conn->received > kMaxAdminRequest) {
          conn->answered = true;
          conn->respond(AdminResponse{400, "text/plain; charset=utf-8", "bad request\n"});
        }
      });
  if (!uvCheck(rc, "admin: uv_read_start")) c->close();
}

}  // namespace sluice::proxy
