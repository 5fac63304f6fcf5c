// The read buffer of a worker thread. Every read callback parses (and copies what it keeps)
// before returning, so one buffer per thread serves all of its connections.
#pragma once

#include <uv.h>

namespace sluice::proxy {

inline constexpr size_t kReadBufferSize = 64 * 1024;

inline void allocThreadReadBuffer(uv_handle_t*, size_t, uv_buf_t* buf) {
  thread_local char storage[kReadBufferSize];
  *buf = uv_buf_init(storage, sizeof storage);
}

// A request body gathered in sluice before its upstream connection is ready stops the client's
// reads above this many bytes.
inline constexpr size_t kHighWatermark = 256 * 1024;

// A relay (response body, tunnel, streamed request body) stops reading its source while the
// destination has bytes queued in sluice, i.e. while the kernel's socket buffer is full, and
// reads again once that queue is empty. So a peer that stops reading holds at most one read
// (kReadBufferSize) in sluice's memory; the socket buffer keeps the pipe full meanwhile.
inline bool relayShouldPause(size_t destination_queued) {
  return destination_queued > 0;
}
inline bool relayMayResume(size_t destination_queued) {
  return destination_queued == 0;
}

}  // namespace sluice::proxy
