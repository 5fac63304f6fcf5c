// What an HTTP/2 session needs of the connection under it: a byte pipe (TCP, or TLS decrypted
// by the connection) with its write queue, read control and close, and who the client is.
// ClientConnection implements it once ALPN chose h2 or an h2c listener saw the client preface.
// All calls on the connection's worker thread.
#pragma once

#include <uv.h>

#include <cstddef>
#include <string>

namespace sluice::proxy {

class Http2Transport {
 public:
  virtual ~Http2Transport() = default;

  // Writes `bufs` in order (encrypting first under TLS); false when the client is gone.
  virtual bool write(const uv_buf_t* bufs, unsigned count) = 0;
  // Bytes written but still waiting in sluice (the kernel did not take them yet).
  virtual size_t writeQueued() const = 0;
  // Stops and restarts reading the client (the session's own backpressure).
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
  // Closes once what is queued (the final GOAWAY) is written; reads and drops what the client
  // still sends meanwhile, so the kernel does not answer it with a reset that could destroy the
  // GOAWAY on its way.
  virtual void closeAfterGoaway() = 0;
  // Closes now (the client is gone, or the write path failed).
  virtual void abort() = 0;
  // No stream is open (true) or one is (false): an idle connection may be closed to make room at
  // limits.max_connections, as an idle HTTP/1.1 keep-alive connection may.
  virtual void setIdle(bool idle) = 0;

  virtual const std::string& clientIp() const = 0;
  virtual const unsigned char* clientAddr16() const = 0;
  virtual bool secure() const = 0;
  virtual const std::string& clientSubject() const = 0;
};

}  // namespace sluice::proxy
