#include "proxy/net/socket_io.h"

#include <sys/ioctl.h>

#include "proxy/net/read_buffer.h"
#include "proxy/net/uring_loop.h"

namespace sluice::proxy {

int SocketIo::init(uv_loop_t* loop, UringLoop* ring, void* owner) {
  owner_ = owner;
  if (ring != nullptr) {
    ring_ = ring;
    io_.emplace<UringSocket>().init(ring, owner);
    return 0;
  }
  int r = uv_tcp_init(loop, &uv().tcp);
  uv().tcp.data = this;
  return r;
}

int SocketIo::open(int fd) {
  if (ring_ != nullptr) return rs().open(fd);
  return uv_tcp_open(&uv().tcp, fd);
}

int SocketIo::connect(const sockaddr* addr, StatusCb cb) {
  status_cb_ = cb;
  if (ring_ != nullptr) return rs().connect(addr, cb);
  // Before the connect libuv only records the option, applied to the socket it creates.
  int r = uv_tcp_nodelay(&uv().tcp, 1);
  if (r != 0) return r;
  auto* req = new uv_connect_t;
  req->data = this;
  r = uv_tcp_connect(req, &uv().tcp, addr, [](uv_connect_t* req, int status) {
    auto* io = static_cast<SocketIo*>(req->data);
    delete req;
    io->status_cb_(io->owner_, status);
  });
  if (r != 0) delete req;
  return r;
}

void SocketIo::onUvAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  allocThreadReadBuffer(h, suggested, buf);
}

void SocketIo::onUvRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* io = static_cast<SocketIo*>(s->data);
  if (nread != 0) io->read_cb_(io->owner_, nread, nread > 0 ? buf->base : nullptr);
}

int SocketIo::readStart(ReadCb cb) {
  read_cb_ = cb;
  if (ring_ != nullptr) return rs().readStart(cb);
  return uv_read_start(uvStream(), onUvAlloc, onUvRead);
}

int SocketIo::readStop() {
  if (ring_ != nullptr) return rs().readStop();
  return uv_read_stop(uvStream());
}

int SocketIo::write(const uv_buf_t* bufs, unsigned count, WriteSink* sink, bool fin_follows) {
  if (ring_ != nullptr) return rs().write(bufs, count, sink);
  return writeAll(uvStream(), bufs, count, sink, fin_follows);
}

bool SocketIo::bytesWaiting() {
  uv_os_fd_t fd;
  if (ring_ != nullptr || uv_fileno(reinterpret_cast<uv_handle_t*>(&uv().tcp), &fd) != 0) {
    return false;
  }
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

int SocketIo::shutdown(StatusCb cb) {
  status_cb_ = cb;
  if (ring_ != nullptr) return rs().shutdown(cb);
  auto* req = new uv_shutdown_t;
  req->data = this;
  int r = uv_shutdown(req, uvStream(), [](uv_shutdown_t* req, int status) {
    auto* io = static_cast<SocketIo*>(req->data);
    delete req;
    io->status_cb_(io->owner_, status);
  });
  if (r != 0) delete req;
  return r;
}

void SocketIo::close(CloseCb cb) {
  close_cb_ = cb;
  if (ring_ != nullptr) {
    rs().close(cb);
    return;
  }
  uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&uv().tcp);
  if (uv_is_closing(h)) return;
  uv_close(h, [](uv_handle_t* h) {
    auto* io = static_cast<SocketIo*>(h->data);
    io->close_cb_(io->owner_);
  });
}

bool SocketIo::closing() const {
  if (ring_ != nullptr) return rs().closing();
  return uv_is_closing(reinterpret_cast<const uv_handle_t*>(&uv().tcp)) != 0;
}

}  // namespace sluice::proxy
