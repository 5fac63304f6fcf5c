// A worker's io_uring beside its libuv loop (the `io: uring` backend): plain TCP sockets of
// HTTP/1.1 client and upstream connections receive with multishot recv into a provided buffer
// ring and send through SQEs that are submitted once per loop iteration, so the sends and recv
// re-arms of many connections cost one io_uring_enter. libuv keeps timers, signals, DNS, files,
// TLS and HTTP/2 connections; the ring's fd is watched by a uv_poll_t so completions wake the
// loop. One per worker thread, used on that thread only.
#pragma once

#include <liburing.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::proxy {

class UringSocket;

// What the probe found; `reason` is the log line's explanation when it failed.
struct UringProbe {
  bool ok = false;
  std::string reason;
};

class UringLoop {
 public:
  // Buffers of the provided-buffer ring: a recv completion carries at most this much.
  static constexpr unsigned kBufferSize = 32 * 1024;
  static constexpr unsigned kBufferCount = 64;  // a power of two (the kernel's ring mask)

  // Checks that this kernel (and seccomp) allow what the backend needs: a ring, multishot recv
  // with a provided-buffer ring, send, connect and cancel. Setting the environment
  // variable SLUICE_IO_URING_PROBE_FAIL makes it fail (tests of the fallback).
  static UringProbe probe();

  UringLoop() = default;
  UringLoop(const UringLoop&) = delete;
  UringLoop& operator=(const UringLoop&) = delete;
  ~UringLoop();

  // Sets up the ring and its handles on `loop`; false (with `error`) when it cannot. `buffers`
  // (a power of two) and `buffer_size` are for tests.
  bool init(uv_loop_t* loop, std::string& error, unsigned buffers = kBufferCount,
            unsigned buffer_size = kBufferSize);
  // Closes the ring's libuv handles (on the loop thread, before the loop's last run); sockets
  // must all be closed by then.
  void close();

  uv_loop_t* loop() const { return loop_; }
  // Sockets with an fd: the ring's handles close once the last is gone after close().
  void track(int delta);
  // `s` finished closing: it leaves the flush lists.
  void forget(UringSocket* s);
  // Queues `s` for the next flush (SQEs to prepare, a close to finish, stashed bytes to deliver).
  void markDirty(UringSocket* s);
  // A free submission entry, submitting what is queued when the SQ ring is full; null only when
  // even that failed.
  io_uring_sqe* sqe();
  // The provided-buffer ring's group and a buffer's memory.
  static constexpr int kBufferGroup = 0;
  const char* buffer(unsigned id) const { return buffers_ + size_t(id) * buffer_size_; }
  // Gives buffer `id` back to the kernel (after its bytes were consumed).
  void recycle(unsigned id);
  // Buffers the kernel may fill now (for tests of the bookkeeping).
  unsigned buffersFree() const { return buffers_free_; }
  // Prepares the SQEs of dirty sockets, submits them and handles the completions, until nothing
  // is left to do (the uv_prepare callback runs this once per loop iteration; tests call it).
  void flush();

 private:
  static void onPrepare(uv_prepare_t* p);
  static void onPoll(uv_poll_t* p, int status, int events);
  void drain();
  bool submit();

  uv_loop_t* loop_ = nullptr;
  io_uring ring_{};
  bool ring_open_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  char* buffers_ = nullptr;
  unsigned buffer_count_ = 0;
  unsigned buffer_size_ = 0;
  unsigned buffers_free_ = 0;
  uv_poll_t* poll_ = nullptr;        // freed in its close callback
  uv_prepare_t* prepare_ = nullptr;  // likewise
  std::vector<UringSocket*> dirty_;
  std::vector<UringSocket*> flushing_;
  uv_idle_t* idle_ = nullptr;  // keeps the loop from blocking while sockets are still dirty
  long sockets_ = 0;
  bool in_flush_ = false;
  bool stopping_ = false;  // close() was called: the handles go with the last socket
  void closeHandles();
};

}  // namespace sluice::proxy
