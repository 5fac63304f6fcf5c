// The transport seam of a plain HTTP/1.1 connection: its TCP socket on libuv (uv_tcp_t, epoll)
// or on the worker's io_uring (UringSocket). Connections call the same few operations either
// way; TLS connections stay on libuv (their ciphertext goes through uvStream()).
#pragma once

#include <uv.h>

#include <variant>

#include "proxy/net/tcp_write.h"
#include "proxy/net/uring_socket.h"

namespace sluice::proxy {

class UringLoop;

class SocketIo {
 public:
  using ReadCb = UringSocket::ReadCb;      // (owner, nread, data): nread < 0 is EOF/error
  using StatusCb = UringSocket::StatusCb;  // (owner, status)
  using CloseCb = UringSocket::CloseCb;    // (owner): from a later loop step, may free it

  SocketIo() = default;
  SocketIo(const SocketIo&) = delete;
  SocketIo& operator=(const SocketIo&) = delete;

  // Chooses the backend: the ring when `ring` is not null, else libuv on `loop`. Returns 0 or a
  // libuv error (no handle is open then, and close() must not be called).
  int init(uv_loop_t* loop, UringLoop* ring, void* owner);
  bool onRing() const { return ring_ != nullptr; }
  // Serves an accepted non-blocking socket (ownership passes).
  int open(int fd);
  // Connects to `addr` with TCP_NODELAY.
  int connect(const sockaddr* addr, StatusCb cb);
  int readStart(ReadCb cb);
  int readStop();
  // On the ring: one buffer per recv instead of multishot (see UringSocket::setMultishot).
  void setSingleShotReads() {
    if (ring_ != nullptr) rs().setMultishot(false);
  }
  // Writes in order; see writeAll (libuv) and UringSocket::write for what `sink` hears.
  // `fin_follows` as writeAll's (the ring sends at its next submit and does not use it).
  int write(const uv_buf_t* bufs, unsigned count, WriteSink* sink, bool fin_follows = false);
  int shutdown(StatusCb cb);
  // Bytes are waiting in the kernel to be read (FIONREAD; a system call, for rare paths). False
  // on the ring, whose receives are already queued.
  bool bytesWaiting();
  void close(CloseCb cb);
  bool closing() const;
  // The libuv stream (TLS output); only on libuv.
  uv_stream_t* uvStream() { return reinterpret_cast<uv_stream_t*>(&uv().tcp); }

 private:
  static void onUvAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onUvRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);

  void* owner_ = nullptr;
  UringLoop* ring_ = nullptr;
  ReadCb read_cb_ = nullptr;
  StatusCb status_cb_ = nullptr;  // the connect's, then the shutdown's
  CloseCb close_cb_ = nullptr;
  // The connect and shutdown requests are allocated for their one use each (freed in their
  // callback, which libuv always calls, with UV_ECANCELED when the handle closes first): an
  // open connection holds only its handle.
  struct Uv {
    uv_tcp_t tcp;
  };
  Uv& uv() { return std::get<Uv>(io_); }
  const Uv& uv() const { return std::get<Uv>(io_); }
  UringSocket& rs() { return std::get<UringSocket>(io_); }
  const UringSocket& rs() const { return std::get<UringSocket>(io_); }

  std::variant<Uv, UringSocket> io_;  // never moved: libuv and the kernel hold pointers into it
};

}  // namespace sluice::proxy
