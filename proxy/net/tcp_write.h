// Writing to a libuv stream without copying in the common case: bytes go out directly with
// uv_try_write; only what the kernel did not take is copied and queued with uv_write.
#pragma once

#include <uv.h>

#include <cstddef>

namespace sluice::proxy {

// The owner of a stream implements this to learn when queued bytes leave (backpressure) and
// when a queued write failed. Called on the stream's loop thread.
class WriteSink {
 public:
  virtual ~WriteSink() = default;
  virtual void onWriteDone(int status) = 0;
  size_t queued_bytes = 0;  // bytes copied and waiting in libuv's queue
  unsigned queued_writes = 0;
};

// Writes all of `bufs` to `stream` in order. Returns 0 or a libuv error (the stream is then
// broken and should be closed). `sink` must outlive the stream's close callback.
// `fin_follows`: the caller closes or shuts down the socket right after, before the loop runs
// again, so the kernel may hold these bytes (MSG_MORE) and send them in the FIN's segment: one
// segment less per closing connection. Bytes held and no close following would wait for it.
int writeAll(uv_stream_t* stream, const uv_buf_t* bufs, unsigned count, WriteSink* sink,
             bool fin_follows = false);

}  // namespace sluice::proxy
