#include "proxy/net/uring_loop.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "proxy/net/uring_socket.h"
#include "proxy/net/uv_handle.h"

namespace sluice::proxy {

namespace {
constexpr unsigned kSqEntries = 1024;
constexpr unsigned kCqEntries = 8192;  // multishot recvs post many completions per submission
constexpr int kMaxRounds = 32;         // flush rounds before the idle handle takes over

std::string sysError(const char* call, int err) {
  return std::string(call) + ": " + std::strerror(err);
}

// A buffer ring of `count` entries in page-aligned memory, registered as `group`.
io_uring_buf_ring* registerBufRing(io_uring* ring, unsigned count, int group, size_t& bytes,
                                   std::string& error) {
  bytes = count * sizeof(io_uring_buf);
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    error = sysError("mmap", errno);
    return nullptr;
  }
  auto* br = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(br);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(mem);
  reg.ring_entries = count;
  reg.bgid = static_cast<uint16_t>(group);
  int r = io_uring_register_buf_ring(ring, &reg, 0);
  if (r != 0) {
    error = sysError("io_uring_register_buf_ring", -r);
    ::munmap(mem, bytes);
    return nullptr;
  }
  return br;
}

// One byte through a multishot recv with a provided buffer on a socket pair: the features the
// backend needs, tried for real (a probe table says nothing of seccomp or of multishot recv).
std::string tryMultishotRecv(io_uring* ring) {
  size_t bytes = 0;
  std::string error;
  io_uring_buf_ring* br = registerBufRing(ring, 1, 0, bytes, error);
  if (br == nullptr) return error;
  char buf[64];
  io_uring_buf_ring_add(br, buf, sizeof buf, 0, io_uring_buf_ring_mask(1), 0);
  io_uring_buf_ring_advance(br, 1);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    error = sysError("socketpair", errno);
  } else {
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    io_uring_prep_recv_multishot(sqe, sv[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_cqe* cqe = nullptr;
    int r = io_uring_submit(ring);
    if (r < 0) {
      error = sysError("io_uring_enter", -r);
    } else if (::write(sv[1], "x", 1) != 1) {
      error = sysError("write", errno);
    } else if ((r = io_uring_wait_cqe(ring, &cqe)) != 0) {
      error = sysError("io_uring_wait_cqe", -r);
    } else {
      if (cqe->res != 1) {
        error = "multishot recv: " + std::string(cqe->res < 0 ? std::strerror(-cqe->res) : "short");
      } else if (!(cqe->flags & IORING_CQE_F_MORE) || !(cqe->flags & IORING_CQE_F_BUFFER)) {
        error = "multishot recv with provided buffers is not supported";
      }
      io_uring_cqe_seen(ring, cqe);
    }
    ::close(sv[0]);
    ::close(sv[1]);
  }
  io_uring_unregister_buf_ring(ring, 0);
  ::munmap(br, bytes);
  return error;
}
}  // namespace

UringProbe UringLoop::probe() {
  UringProbe p;
  if (std::getenv("SLUICE_IO_URING_PROBE_FAIL") != nullptr) {
    p.reason = "io_uring disabled by SLUICE_IO_URING_PROBE_FAIL";
    return p;
  }
  io_uring ring{};
  int r = io_uring_queue_init(8, &ring, 0);
  if (r != 0) {
    p.reason = sysError("io_uring_queue_init", -r);  // ENOSYS: old kernel; EPERM: seccomp, sysctl
    return p;
  }
  io_uring_probe* table = io_uring_get_probe_ring(&ring);
  if (table == nullptr) {
    p.reason = "io_uring_get_probe_ring failed";
  } else {
    for (int op : {IORING_OP_SEND, IORING_OP_RECV, IORING_OP_CONNECT, IORING_OP_ASYNC_CANCEL}) {
      if (!io_uring_opcode_supported(table, op))
        p.reason = "opcode " + std::to_string(op) + " missing";
    }
    io_uring_free_probe(table);
  }
  if (p.reason.empty()) p.reason = tryMultishotRecv(&ring);
  io_uring_queue_exit(&ring);
  p.ok = p.reason.empty();
  return p;
}

UringLoop::~UringLoop() {
  if (ring_open_) {
    if (buf_ring_ != nullptr) io_uring_unregister_buf_ring(&ring_, kBufferGroup);
    io_uring_queue_exit(&ring_);
  }
  if (buf_ring_ != nullptr) ::munmap(buf_ring_, buf_ring_bytes_);
  if (buffers_ != nullptr) ::munmap(buffers_, size_t(buffer_count_) * buffer_size_);
}

bool UringLoop::init(uv_loop_t* loop, std::string& error, unsigned buffers, unsigned buffer_size) {
  loop_ = loop;
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = kCqEntries;
  int r = io_uring_queue_init_params(kSqEntries, &ring_, &params);
  if (r != 0) {
    error = sysError("io_uring_queue_init", -r);
    return false;
  }
  ring_open_ = true;
  buf_ring_ = registerBufRing(&ring_, buffers, kBufferGroup, buf_ring_bytes_, error);
  if (buf_ring_ == nullptr) return false;
  size_t bytes = size_t(buffers) * buffer_size;
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    error = sysError("mmap", errno);
    return false;
  }
  buffers_ = static_cast<char*>(mem);
  buffer_count_ = buffers;
  buffer_size_ = buffer_size;
  for (unsigned i = 0; i < buffers; ++i) {
    io_uring_buf_ring_add(buf_ring_, buffers_ + size_t(i) * buffer_size, buffer_size, i,
                          io_uring_buf_ring_mask(buffers), static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(buffers));
  buffers_free_ = buffers;
  poll_ = new uv_poll_t;
  prepare_ = new uv_prepare_t;
  idle_ = new uv_idle_t;
  poll_->data = prepare_->data = idle_->data = this;
  if (!uvCheck(uv_poll_init(loop, poll_, ring_.ring_fd), "io_uring: uv_poll_init")) {
    delete poll_;
    delete prepare_;
    delete idle_;
    poll_ = nullptr;
    prepare_ = nullptr;
    idle_ = nullptr;
    error = "uv_poll_init on the ring failed";
    return false;
  }
  r = uv_prepare_init(loop, prepare_);
  if (r == 0) r = uv_idle_init(loop, idle_);
  if (r == 0) r = uv_poll_start(poll_, UV_READABLE, onPoll);
  if (r == 0) r = uv_prepare_start(prepare_, onPrepare);
  if (r != 0) {
    error = std::string("libuv handles for the ring: ") + uv_strerror(r);
    closeHandles();
    return false;
  }
  return true;
}

void UringLoop::close() {
  stopping_ = true;
  if (sockets_ == 0) closeHandles();
}

void UringLoop::closeHandles() {
  if (poll_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  if (prepare_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(prepare_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_prepare_t*>(h); });
  }
  if (idle_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(idle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  }
  poll_ = nullptr;
  prepare_ = nullptr;
  idle_ = nullptr;
}

void UringLoop::track(int delta) {
  sockets_ += delta;
  if (stopping_ && sockets_ == 0 && prepare_ != nullptr) closeHandles();
}

void UringLoop::markDirty(UringSocket* s) {
  if (s->in_dirty_) return;
  s->in_dirty_ = true;
  dirty_.push_back(s);
}

void UringLoop::forget(UringSocket* s) {
  if (s->in_dirty_) {  // only while another round of the same flush has it queued
    auto it = std::find(dirty_.begin(), dirty_.end(), s);
    if (it != dirty_.end()) dirty_.erase(it);
    s->in_dirty_ = false;
  }
}

io_uring_sqe* UringLoop::sqe() {
  io_uring_sqe* e = io_uring_get_sqe(&ring_);
  if (e == nullptr) {
    submit();  // the SQ ring is full: what is queued goes now
    e = io_uring_get_sqe(&ring_);
  }
  return e;
}

bool UringLoop::submit() {
  for (;;) {
    int r = io_uring_submit(&ring_);
    if (r >= 0) return true;
    if (r == -EINTR) continue;
    if (r == -EAGAIN || r == -EBUSY) {  // completions must be reaped first
      drain();
      r = io_uring_submit(&ring_);
      if (r >= 0) return true;
    }
    uvCheck(r, "io_uring", "io_uring_submit");
    return false;
  }
}

void UringLoop::recycle(unsigned id) {
  io_uring_buf_ring_add(buf_ring_, buffers_ + size_t(id) * buffer_size_, buffer_size_, id,
                        io_uring_buf_ring_mask(buffer_count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
  ++buffers_free_;
}

// Hands every completion to its socket. A completion is consumed before its socket hears of it,
// so a callback may prepare and submit SQEs.
void UringLoop::drain() {
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe != nullptr) {
      io_uring_cqe c = *cqe;
      io_uring_cqe_seen(&ring_, cqe);
      if (c.flags & IORING_CQE_F_BUFFER) --buffers_free_;
      if (c.user_data == 0) continue;  // a cancel's own completion
      auto* s = reinterpret_cast<UringSocket*>(c.user_data & ~uint64_t{7});
      s->onCompletion(static_cast<unsigned>(c.user_data & 7), &c);
    }
    // Completions the CQ ring had no room for wait in the kernel until asked for.
    if (!(IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_CQ_OVERFLOW)) return;
    if (io_uring_get_events(&ring_) < 0) return;
  }
}

void UringLoop::flush() {
  if (in_flush_) return;
  in_flush_ = true;
  for (int round = 0; round < kMaxRounds; ++round) {
    flushing_.swap(dirty_);
    for (UringSocket* s : flushing_) {
      s->in_dirty_ = false;
      s->flush();  // may end with the socket's close callback: not touched after that
    }
    flushing_.clear();
    if (io_uring_sq_ready(&ring_) == 0 && dirty_.empty()) break;
    submit();
    drain();  // sends to sockets with room in their window complete during the submit
    if (dirty_.empty()) break;
  }
  in_flush_ = false;
  if (idle_ != nullptr) {
    if (!dirty_.empty()) {
      uvCheck(uv_idle_start(idle_, [](uv_idle_t*) {}), "io_uring: uv_idle_start");
    } else if (uv_is_active(reinterpret_cast<uv_handle_t*>(idle_))) {
      uvCheck(uv_idle_stop(idle_), "io_uring: uv_idle_stop");
    }
  }
}

void UringLoop::onPrepare(uv_prepare_t* p) {
  static_cast<UringLoop*>(p->data)->flush();
}

void UringLoop::onPoll(uv_poll_t* p, int status, int) {
  auto* self = static_cast<UringLoop*>(p->data);
  if (status < 0) {
    uvCheck(status, "io_uring: ring poll");
    return;
  }
  self->drain();
}

}  // namespace sluice::proxy
