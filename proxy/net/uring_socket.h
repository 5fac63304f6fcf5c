// One TCP socket served by the worker's io_uring (see uring_loop.h): a multishot recv with
// provided buffers, sends copied into one outgoing buffer and submitted with the loop's next
// batch, connect as an SQE (shutdown is a plain call, see flush()). The calls mirror libuv's
// stream calls (read start/stop, write with WriteSink backpressure, shutdown, close with a
// callback that is never synchronous), so SocketIo can offer either backend to a connection.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/net/tcp_write.h"

struct io_uring_cqe;

namespace sluice::proxy {

class UringLoop;

class UringSocket {
 public:
  // nread > 0: bytes (valid during the call only); < 0: UV_EOF or a libuv error code.
  using ReadCb = void (*)(void* owner, ssize_t nread, const char* data);
  using StatusCb = void (*)(void* owner, int status);
  using CloseCb = void (*)(void* owner);

  UringSocket() = default;
  UringSocket(const UringSocket&) = delete;
  UringSocket& operator=(const UringSocket&) = delete;

  void init(UringLoop* loop, void* owner) {
    loop_ = loop;
    owner_ = owner;
  }
  // Serves the connected non-blocking socket `fd` (ownership passes).
  int open(int fd);
  // Creates a socket (TCP_NODELAY) and connects it to `addr`; `cb` hears the result.
  int connect(const sockaddr* addr, StatusCb cb);
  int readStart(ReadCb cb);
  // Stops reading. A multishot recv may post up to 32 buffers per wakeup before its cancel
  // lands, all of which this socket must then hold: so after its first stop the socket receives
  // one buffer per recv, and a stalled relay holds at most one buffer (32 KiB) here.
  int readStop();
  // One buffer per recv from the start (upstream connections, whose responses are relayed
  // under backpressure); client connections start with multishot recv.
  void setMultishot(bool on) { multishot_ = on; }
  // Copies `bufs` to the outgoing buffer; sent with the loop's next submission. The bytes count
  // in `sink->queued_bytes` (one queued write while any are counted) until their send completes,
  // and the sink hears onWriteDone at each completion. Returns 0 or a libuv error.
  int write(const uv_buf_t* bufs, unsigned count, WriteSink* sink);
  // Half-closes after the outgoing bytes are sent; `cb` hears the result.
  int shutdown(StatusCb cb);
  // Stops everything and closes the fd; `cb` runs from a later loop step, after the kernel
  // holds no request of this socket, and may free the owner (and this socket with it).
  void close(CloseCb cb);
  bool closing() const { return closing_; }
  int fd() const { return fd_; }

  // UringLoop's side.
  void onCompletion(unsigned op, const io_uring_cqe* cqe);
  // Prepares this socket's SQEs; false when it finished closing (its close callback ran).
  bool flush();
  bool in_dirty_ = false;

  enum Op : unsigned { kRecv = 1, kSend = 2, kConnect = 4 };

 private:
  void deliver(ssize_t nread, const char* data);
  void cancel(unsigned op);
  void onRecv(const io_uring_cqe* cqe);
  void onSend(int res);
  void uncount();
  size_t pending() const { return sendbuf_.size() - send_off_ + out_.size(); }

  UringLoop* loop_ = nullptr;
  void* owner_ = nullptr;
  int fd_ = -1;
  ReadCb read_cb_ = nullptr;
  StatusCb shutdown_cb_ = nullptr;
  StatusCb connect_cb_ = nullptr;
  CloseCb close_cb_ = nullptr;
  WriteSink* sink_ = nullptr;
  unsigned inflight_ = 0;  // SQEs of this socket whose last CQE has not arrived
  bool reading_ = false;   // the owner wants bytes
  bool recv_armed_ = false;
  bool multishot_ = true;
  bool recv_cancelled_ = false;
  bool closing_ = false;
  bool shutdown_wanted_ = false;
  bool shutdown_sent_ = false;
  bool send_inflight_ = false;
  bool send_cancelled_ = false;
  bool connecting_ = false;
  bool connect_sent_ = false;
  bool connect_cancelled_ = false;
  int stash_status_ = 0;  // EOF or error seen while not reading
  size_t counted_ = 0;    // bytes in sink_->queued_bytes: all pending ones, until closing
  size_t send_off_ = 0;   // sendbuf_[send_off_..] is (or goes next) in flight
  socklen_t connect_len_ = 0;
  std::string sendbuf_;  // the bytes of the send in flight: never moved while the kernel has it
  std::string out_;      // bytes written since that send went out
  std::string stash_;    // bytes received while not reading
  std::unique_ptr<sockaddr_storage> connect_addr_;  // until the connect completes
};

}  // namespace sluice::proxy
