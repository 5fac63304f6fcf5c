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

// Write-queue levels (bytes) between which a relay stops and resumes reading its source.
inline constexpr size_t kHighWatermark = 256 * 1024;
inline constexpr size_t kLowWatermark = 64 * 1024;

}  // namespace sluice::proxy
