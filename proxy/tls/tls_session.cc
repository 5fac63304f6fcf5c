#include "proxy/tls/tls_session.h"

#include <openssl/err.h>

namespace sluice::proxy {

TlsSession::TlsSession(SSL_CTX* ctx, bool server, const std::string& server_name)
    : server_(server) {
  ssl_ = SSL_new(ctx);
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);  // an empty input BIO means "want more", not EOF
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);  // the SSL owns both BIOs now
  if (server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    if (!server_name.empty()) SSL_set_tlsext_host_name(ssl_, server_name.c_str());
  }
}

// A server session whose connection ended without close_notify (most clients just close the
// socket) stays resumable, as RFC 5246 allows since TLS 1.1 and nginx does: otherwise SSL_free
// drops it from the session cache. A fatal alert still removes it (OpenSSL does that when the
// alert is sent or received).
TlsSession::~TlsSession() {
  if (server_ && handshake_done_) {
    SSL_set_shutdown(ssl_, SSL_get_shutdown(ssl_) | SSL_SENT_SHUTDOWN);
  }
  SSL_free(ssl_);
}

void TlsSession::noteError(int ssl_error) {
  unsigned long e = ERR_peek_last_error();
  int reason = ERR_GET_REASON(e);
  if (!handshake_done_) {
    error_reason_ = "handshake";
    if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_WRONG_VERSION_NUMBER ||
        reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || reason == SSL_R_VERSION_TOO_LOW) {
      error_reason_ = "version";
    } else if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED ||
               reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
               reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
               reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
               reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
      error_reason_ = "certificate";
    } else if (reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST ||
               reason == SSL_R_PACKET_LENGTH_TOO_LONG || reason == SSL_R_RECORD_LENGTH_MISMATCH) {
      error_reason_ = "not_tls";
    } else if (reason == SSL_R_NO_SHARED_CIPHER || reason == SSL_R_NO_SHARED_GROUPS) {
      error_reason_ = "no_shared_cipher";
    }
  } else {
    error_reason_ = ssl_error == SSL_ERROR_SYSCALL ? "eof" : "protocol";
  }
  ERR_clear_error();
}

TlsSession::Status TlsSession::start() {
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    handshake_done_ = true;
    return Status::Ok;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Status::Ok;
  noteError(err);
  return Status::Error;
}

TlsSession::Status TlsSession::feed(const char* data, size_t len,
                                    const std::function<bool(const char*, size_t)>& plain) {
  while (len > 0) {
    int n = BIO_write(in_, data, static_cast<int>(len));
    if (n <= 0) {
      error_reason_ = "internal";
      return Status::Error;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return pump(plain);
}

TlsSession::Status TlsSession::pump(const std::function<bool(const char*, size_t)>& plain) {
  if (!handshake_done_) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Status::Ok;
      noteError(err);
      return Status::Error;
    }
    handshake_done_ = true;
  }
  thread_local char buf[16 * 1024];
  for (;;) {
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      if (!plain(buf, static_cast<size_t>(n))) return Status::Ok;
      // Nothing decrypted or buffered left, no ciphertext in: another SSL_read could only say
      // WANT_READ (the usual end of a read, skipped).
      if (SSL_has_pending(ssl_) == 0 && BIO_ctrl_pending(in_) == 0) return Status::Ok;
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Status::Ok;
    if (err == SSL_ERROR_ZERO_RETURN) return Status::Closed;
    noteError(err);
    return Status::Error;
  }
}

bool TlsSession::encrypt(const uv_buf_t* bufs, unsigned count) {
  for (unsigned i = 0; i < count; ++i) {
    if (bufs[i].len == 0) continue;
    int n = SSL_write(ssl_, bufs[i].base, static_cast<int>(bufs[i].len));
    if (n <= 0) {
      noteError(SSL_get_error(ssl_, n));
      return false;
    }
  }
  return true;
}

void TlsSession::shutdown() {
  if (handshake_done_) SSL_shutdown(ssl_);
}

bool TlsSession::hasOutput() const {
  return BIO_ctrl_pending(out_) > 0;
}

bool TlsSession::drain(const std::function<bool(const char*, size_t)>& write) {
  char* p = nullptr;
  long n = BIO_get_mem_data(out_, &p);
  if (n <= 0) return true;
  bool ok = write(p, static_cast<size_t>(n));
  (void)BIO_reset(out_);
  return ok;
}

bool TlsSession::flushTo(uv_stream_t* stream, WriteSink* sink) {
  return drain([stream, sink](const char* p, size_t n) {
    uv_buf_t b = uv_buf_init(const_cast<char*>(p), static_cast<unsigned>(n));
    return writeAll(stream, &b, 1, sink) == 0;
  });
}

}  // namespace sluice::proxy
