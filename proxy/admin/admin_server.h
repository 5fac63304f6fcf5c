// The admin listener (spec/operations.md): a small HTTP/1.1 server on the main thread's loop,
// never on a public listener. Requests are tiny; each is answered through a Responder that may be
// called later (POST /reload answers once the new config is resolved and applied).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "proxy/net/uv_handle.h"

namespace sluice::proxy {

struct AdminRequest {
  std::string method;
  std::string path;  // without the query
  std::string query;
  std::string body;
  std::string accept;  // the Accept field (GET /metrics: OpenMetrics when it asks for it)
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string allow = {};  // the Allow header of a 405 (RFC 9110 §15.5.6); empty: none
};

using AdminResponder = std::function<void(AdminResponse)>;
using AdminHandler = std::function<void(const AdminRequest&, AdminResponder)>;

class AdminServer {
 public:
  AdminServer(uv_loop_t* loop, AdminHandler handler);
  ~AdminServer();
  // Binds and listens; returns 0 or a libuv error.
  int listen(const std::string& host, uint16_t port);
  void close();

 private:
  static void onConnection(uv_stream_t* server, int status);
  uv_loop_t* loop_;
  AdminHandler handler_;
  UvHandle<uv_tcp_t> tcp_;  // the listening socket
};

}  // namespace sluice::proxy
