// TLS over libuv without letting OpenSSL touch a socket: an SSL object between two memory BIOs.
// Ciphertext read from the socket goes in with feed(); plaintext comes out through a callback;
// plaintext to send goes in with encrypt(); ciphertext to write comes out with drain(). The loop
// never blocks on OpenSSL. Used by client (server-side TLS) and upstream (client-side TLS)
// connections on one worker thread.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <functional>
#include <string>

#include "proxy/net/tcp_write.h"

namespace sluice::proxy {

class TlsSession {
 public:
  enum class Status {
    Ok,      // go on (handshake in progress or data delivered)
    Closed,  // the peer sent close_notify
    Error,   // fatal: close the connection (an alert may be waiting in drain())
  };

  // `server`: accept side (listeners); otherwise connect side with optional SNI `server_name`.
  TlsSession(SSL_CTX* ctx, bool server, const std::string& server_name = "");
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  SSL* ssl() { return ssl_; }
  bool handshakeDone() const { return handshake_done_; }

  // Starts the handshake of a client session (writes the ClientHello into the output).
  Status start();
  // Ciphertext from the peer. Plaintext is handed to `plain` in order; `plain` may stop the
  // session (return false) e.g. when the connection closes meanwhile.
  Status feed(const char* data, size_t len, const std::function<bool(const char*, size_t)>& plain);
  // Plaintext to send; false on a fatal error.
  bool encrypt(const uv_buf_t* bufs, unsigned count);
  // Starts a close_notify.
  void shutdown();
  // Ciphertext waiting to be written: calls `write(data, len)` per piece, then empties it.
  bool drain(const std::function<bool(const char*, size_t)>& write);
  // drain() into `stream` through writeAll (both connection kinds write their TLS this way).
  bool flushTo(uv_stream_t* stream, WriteSink* sink);
  bool hasOutput() const;

  // Why the last Error happened, as a bounded label (for metrics): "handshake", "protocol",
  // "certificate", "version", ...
  const char* errorReason() const { return error_reason_; }

 private:
  Status pump(const std::function<bool(const char*, size_t)>& plain);
  void noteError(int ssl_error);

  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // network -> SSL
  BIO* out_ = nullptr;  // SSL -> network
  bool server_;
  bool handshake_done_ = false;
  const char* error_reason_ = "none";
};

}  // namespace sluice::proxy
