#include "proxy/net/uring_socket.h"

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/net/uring_loop.h"

namespace sluice::proxy {

namespace {
// Outgoing buffers larger than this are given back once empty, so idle connections stay small.
constexpr size_t kKeepCapacity = 4096;

uint64_t tag(UringSocket* s, unsigned op) {
  return reinterpret_cast<uintptr_t>(s) | op;
}

void releaseIfLarge(std::string& s) {
  s.clear();
  if (s.capacity() > kKeepCapacity) std::string().swap(s);
}
}  // namespace

int UringSocket::open(int fd) {
  fd_ = fd;
  loop_->track(+1);
  return 0;
}

int UringSocket::connect(const sockaddr* addr, StatusCb cb) {
  socklen_t len;
  if (addr->sa_family == AF_INET) {
    len = sizeof(sockaddr_in);
  } else if (addr->sa_family == AF_INET6) {
    len = sizeof(sockaddr_in6);
  } else {
    return UV_EAFNOSUPPORT;
  }
  int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    int err = errno;
    ::close(fd);
    return -err;
  }
  connect_addr_ = std::make_unique<sockaddr_storage>();
  std::memcpy(connect_addr_.get(), addr, len);
  connect_len_ = len;
  connect_cb_ = cb;
  connecting_ = true;
  open(fd);
  loop_->markDirty(this);
  return 0;
}

int UringSocket::readStart(ReadCb cb) {
  if (closing_) return UV_EINVAL;
  read_cb_ = cb;
  reading_ = true;
  loop_->markDirty(this);  // arms the recv, or delivers what was stashed
  return 0;
}

int UringSocket::readStop() {
  reading_ = false;
  multishot_ = false;
  if (recv_armed_) loop_->markDirty(this);  // cancels the recv (bytes until then are stashed)
  return 0;
}

int UringSocket::write(const uv_buf_t* bufs, unsigned count, WriteSink* sink) {
  if (closing_ || shutdown_wanted_) return UV_EPIPE;
  size_t total = 0;
  for (unsigned i = 0; i < count; ++i) total += bufs[i].len;
  if (total == 0) return 0;
  for (unsigned i = 0; i < count; ++i) out_.append(bufs[i].base, bufs[i].len);
  sink_ = sink;
  if (counted_ == 0) sink_->queued_writes++;
  counted_ += total;
  sink_->queued_bytes += total;
  if (!send_inflight_) loop_->markDirty(this);
  return 0;
}

int UringSocket::shutdown(StatusCb cb) {
  if (closing_ || shutdown_wanted_) return UV_EINVAL;
  shutdown_wanted_ = true;
  shutdown_cb_ = cb;
  loop_->markDirty(this);
  return 0;
}

void UringSocket::close(CloseCb cb) {
  if (closing_) return;
  closing_ = true;
  close_cb_ = cb;
  reading_ = false;
  uncount();  // as libuv cancels queued writes: an owner that wants them sent waits first
  loop_->markDirty(this);
}

void UringSocket::uncount() {
  if (counted_ == 0 || sink_ == nullptr) return;
  sink_->queued_bytes -= counted_;
  sink_->queued_writes--;
  counted_ = 0;
}

void UringSocket::cancel(unsigned op) {
  io_uring_sqe* sqe = loop_->sqe();
  if (sqe == nullptr) return;  // tried again at the next flush
  io_uring_prep_cancel64(sqe, tag(this, op), 0);
  io_uring_sqe_set_data64(sqe, 0);  // its own completion is not this socket's business
}

bool UringSocket::flush() {
  if (closing_) {
    if (recv_armed_ && !recv_cancelled_) {
      cancel(kRecv);
      recv_cancelled_ = true;
    }
    if (send_inflight_ && !send_cancelled_) {
      cancel(kSend);
      send_cancelled_ = true;
    }
    if (connecting_ && connect_sent_ && !connect_cancelled_) {
      cancel(kConnect);
      connect_cancelled_ = true;
    }
    if (inflight_ > 0) return true;  // the last completion marks this socket dirty again
    loop_->forget(this);
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
      loop_->track(-1);
    }
    CloseCb cb = close_cb_;
    if (cb != nullptr) cb(owner_);  // may free this socket
    return false;
  }
  if (connecting_) {
    if (connect_sent_) return true;
    io_uring_sqe* sqe = loop_->sqe();
    if (sqe == nullptr) return true;
    io_uring_prep_connect(sqe, fd_, reinterpret_cast<sockaddr*>(connect_addr_.get()), connect_len_);
    io_uring_sqe_set_data64(sqe, tag(this, kConnect));
    connect_sent_ = true;
    ++inflight_;
    return true;
  }
  if (reading_ && !stash_.empty()) {
    std::string bytes;
    bytes.swap(stash_);
    read_cb_(owner_, static_cast<ssize_t>(bytes.size()), bytes.data());
  }
  if (reading_ && stash_.empty() && stash_status_ != 0) {
    int status = stash_status_;
    stash_status_ = 0;
    reading_ = false;  // as libuv does after EOF or an error
    read_cb_(owner_, status, nullptr);
  }
  if (closing_) {
    loop_->markDirty(this);
    return true;
  }
  if (reading_ && !recv_armed_) {
    io_uring_sqe* sqe = loop_->sqe();
    if (sqe != nullptr) {
      if (multishot_) {
        io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
      } else {
        io_uring_prep_recv(sqe, fd_, nullptr, 0, 0);  // length 0: the provided buffer's
      }
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = UringLoop::kBufferGroup;
      io_uring_sqe_set_data64(sqe, tag(this, kRecv));
      recv_armed_ = true;
      recv_cancelled_ = false;
      ++inflight_;
    }
  } else if (!reading_ && recv_armed_ && !recv_cancelled_) {
    cancel(kRecv);
    recv_cancelled_ = true;
  }
  if (!send_inflight_ && pending() > 0) {
    if (send_off_ == sendbuf_.size()) {
      sendbuf_.clear();
      sendbuf_.swap(out_);  // the in-flight bytes never move while the kernel reads them
      send_off_ = 0;
    }
    io_uring_sqe* sqe = loop_->sqe();
    if (sqe != nullptr) {
      io_uring_prep_send(sqe, fd_, sendbuf_.data() + send_off_, sendbuf_.size() - send_off_,
                         MSG_NOSIGNAL);
      io_uring_sqe_set_data64(sqe, tag(this, kSend));
      send_inflight_ = true;
      ++inflight_;
    }
  }
  if (shutdown_wanted_ && !shutdown_sent_ && !send_inflight_ && pending() == 0) {
    // A plain call, not IORING_OP_SHUTDOWN: the kernel always hands that op to an io-wq worker
    // thread (it cannot run non-blocking), a thread switch per closing connection.
    shutdown_sent_ = true;
    int r = ::shutdown(fd_, SHUT_WR) == 0 ? 0 : -errno;
    if (shutdown_cb_ != nullptr) shutdown_cb_(owner_, r);  // may close this socket, not free it
  }
  return true;
}

void UringSocket::deliver(ssize_t nread, const char* data) {
  if (closing_) return;
  if (reading_ && stash_.empty() && stash_status_ == 0) {
    if (nread < 0) reading_ = false;
    read_cb_(owner_, nread, data);
    return;
  }
  // Not reading (a cancel is on its way), or older bytes wait: keep the order.
  if (nread > 0) {
    stash_.append(data, static_cast<size_t>(nread));
  } else if (stash_status_ == 0) {
    stash_status_ = static_cast<int>(nread);
  }
  if (reading_) loop_->markDirty(this);
}

void UringSocket::onRecv(const io_uring_cqe* cqe) {
  bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  int res = cqe->res;
  if (!more) {
    recv_armed_ = false;
    --inflight_;
    loop_->markDirty(this);  // re-armed if still reading; or the close goes on
  }
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    if (res > 0) deliver(res, loop_->buffer(id));
    loop_->recycle(id);
    return;
  }
  if (res == 0) {
    deliver(UV_EOF, nullptr);
  } else if (res == -ENOBUFS || (res == -ECANCELED && recv_cancelled_)) {
    // Out of buffers: armed again at the flush. Cancelled: we stopped reading.
  } else if (res < 0) {
    deliver(res, nullptr);  // -errno is libuv's error code on Linux
  }
}

void UringSocket::onSend(int res) {
  send_inflight_ = false;
  --inflight_;
  if (closing_) {
    loop_->markDirty(this);
    return;
  }
  if (res < 0) {
    uncount();
    if (sink_ != nullptr) sink_->onWriteDone(res);
    return;
  }
  send_off_ += static_cast<size_t>(res);
  if (send_off_ == sendbuf_.size()) {
    releaseIfLarge(sendbuf_);
    send_off_ = 0;
    if (out_.empty()) releaseIfLarge(out_);
  }
  if (pending() > 0 || shutdown_wanted_) loop_->markDirty(this);
  if (counted_ == 0 || sink_ == nullptr) return;
  size_t sent = std::min(static_cast<size_t>(res), counted_);
  sink_->queued_bytes -= sent;
  counted_ -= sent;
  if (counted_ == 0) sink_->queued_writes--;
  sink_->onWriteDone(0);
}

void UringSocket::onCompletion(unsigned op, const io_uring_cqe* cqe) {
  switch (op) {
    case kRecv:
      onRecv(cqe);
      return;
    case kSend:
      onSend(cqe->res);
      return;
    case kConnect:
      --inflight_;
      connecting_ = false;
      connect_addr_.reset();
      if (closing_) {
        loop_->markDirty(this);
      } else {
        loop_->markDirty(this);  // writes and reads asked for meanwhile
        connect_cb_(owner_, cqe->res < 0 ? cqe->res : 0);
      }
      return;
    default:
      return;
  }
}

}  // namespace sluice::proxy
