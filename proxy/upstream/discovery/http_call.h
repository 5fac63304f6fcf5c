// One HTTP/1.1 request to a registry endpoint on the main thread's loop, its answer streamed
// back: connect (an IP literal, or a name through uv_getaddrinfo), send the request bytes, parse
// the response with llhttp (chunked or sized) and hand the de-chunked body over as it arrives.
// The watch's answer never ends by itself, so nothing here waits for the whole body.
#pragma once

#include <llhttp.h>
#include <uv.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace sluice::proxy::discovery {

class HttpCall {
 public:
  // Called on the loop's thread. After onEnd or onFail nothing more is called and the call frees
  // itself: the owner drops its pointer there.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void onResponseHead(int status) = 0;
    virtual void onBody(std::string_view data) = 0;
    virtual void onEnd() = 0;                    // the response ended
    virtual void onFail(std::string error) = 0;  // connect, write, read or parse failed, or the
                                                 // connection closed before the response ended
  };

  // Starts `request` (complete bytes) to `endpoint`. Null with `error` when it cannot start (no
  // handler call then). The handler is never called before start() returns.
  static HttpCall* start(uv_loop_t* loop, const config::Address& endpoint, std::string request,
                         Handler* handler, std::string& error);

  // Ends the call at once (from anywhere, a handler callback of this call included): no handler
  // call follows; the memory goes when libuv is done with it.
  void cancel();

  HttpCall(const HttpCall&) = delete;
  HttpCall& operator=(const HttpCall&) = delete;

 private:
  HttpCall(uv_loop_t* loop, std::string request, Handler* handler);
  ~HttpCall() = default;
  bool connect(const sockaddr* addr, std::string& error);
  void fail(std::string error);
  void close();
  void maybeFree();
  void onRead(ssize_t nread, const uv_buf_t* buf);
  static const llhttp_settings_t* settings();

  uv_loop_t* loop_;
  uv_tcp_t tcp_{};
  uv_connect_t connect_req_{};
  uv_write_t write_req_{};
  uv_getaddrinfo_t gai_{};
  llhttp_t parser_{};
  std::string request_;
  std::string read_buf_;
  Handler* handler_;
  bool tcp_open_ = false;  // until the close callback
  bool gai_pending_ = false;
  bool closed_ = false;
  bool ended_ = false;  // the response ended
};

}  // namespace sluice::proxy::discovery
