#include "proxy/net/tcp_write.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace sluice::proxy {

namespace {
// One allocation holds the request and the copied bytes.
struct QueuedWrite {
  uv_write_t req;
  WriteSink* sink;
  size_t size;
  char data[];
};

void onWritten(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<QueuedWrite*>(req);
  WriteSink* sink = w->sink;
  sink->queued_bytes -= w->size;
  sink->queued_writes--;
  std::free(w);
  sink->onWriteDone(status);
}

// uv_try_write without libuv's write(2)/writev(2): send(2) skips the VFS layer (measurably less
// kernel time per small write). Only when nothing is queued, so bytes stay in order.
int trySend(uv_stream_t* stream, const uv_buf_t* bufs, unsigned count, int flags) {
  uv_os_fd_t fd;
  if (stream->write_queue_size != 0 || stream->connect_req != nullptr ||
      uv_fileno(reinterpret_cast<uv_handle_t*>(stream), &fd) != 0) {
    return uv_try_write(stream, bufs, count);
  }
  ssize_t n;
  do {
    if (count == 1) {
      n = ::send(fd, bufs[0].base, bufs[0].len, flags);
    } else {
      msghdr msg{};
      msg.msg_iov = reinterpret_cast<iovec*>(const_cast<uv_buf_t*>(bufs));  // same layout on Unix
      msg.msg_iovlen = count;
      n = ::sendmsg(fd, &msg, flags);
    }
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return UV_EAGAIN;
  if (errno == ENOTSOCK) return uv_try_write(stream, bufs, count);
  return -errno;
}
}  // namespace

int writeAll(uv_stream_t* stream, const uv_buf_t* bufs, unsigned count, WriteSink* sink,
             bool fin_follows) {
  size_t total = 0;
  for (unsigned i = 0; i < count; ++i) total += bufs[i].len;
  if (total == 0) return 0;
  size_t sent = 0;
  // What the kernel does not take is queued and written by libuv without MSG_MORE, which sends
  // the held bytes too.
  int r = trySend(stream, bufs, count, MSG_NOSIGNAL | MSG_DONTWAIT | (fin_follows ? MSG_MORE : 0));
  if (r >= 0) {
    sent = static_cast<size_t>(r);
    if (sent == total) return 0;
  } else if (r != UV_EAGAIN && r != UV_ENOSYS) {
    return r;
  }
  size_t rest = total - sent;
  auto* w = static_cast<QueuedWrite*>(std::malloc(sizeof(QueuedWrite) + rest));
  if (w == nullptr) return UV_ENOMEM;
  w->sink = sink;
  w->size = rest;
  size_t skip = sent, off = 0;
  for (unsigned i = 0; i < count; ++i) {
    size_t len = bufs[i].len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    std::memcpy(w->data + off, bufs[i].base + skip, len - skip);
    off += len - skip;
    skip = 0;
  }
  uv_buf_t b = uv_buf_init(w->data, static_cast<unsigned>(rest));
  r = uv_write(&w->req, stream, &b, 1, onWritten);
  if (r != 0) {
    std::free(w);
    return r;
  }
  sink->queued_bytes += rest;
  sink->queued_writes++;
  return 0;
}

}  // namespace sluice::proxy
