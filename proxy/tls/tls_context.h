// OpenSSL contexts built from the config: one per listener with `tls:` (several certificates
// picked by SNI from their SAN/CN, exact before wildcard, the first as default; ALPN; mTLS;
// session cache and process-wide rotated ticket keys), and one per upstream with `tls:`
// (verification, SNI, client certificate). Built on the main thread with each snapshot and then
// shared read-only by the workers (SSL_CTX is safe to share for SSL_new).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/loader.h"

namespace sluice::proxy {

// Label for the verified client certificate's subject, passed to the upstream under mTLS.
inline constexpr const char* kClientSubjectHeader = "x-client-cert-subject";

class TlsServerContext {
 public:
  ~TlsServerContext();
  // Null with `error` naming the file when a certificate or key cannot be used.
  static std::shared_ptr<TlsServerContext> build(const config::ListenerTls& tls,
                                                 std::string& error);
  SSL_CTX* defaultContext() const { return certs_.front().ctx; }
  bool requiresClientCert() const { return mtls_; }

  // The context whose certificate serves `server_name` (exact SAN/CN, then wildcard, then the
  // default). Exposed for tests.
  SSL_CTX* select(const std::string& server_name) const;

 private:
  struct Cert {
    SSL_CTX* ctx = nullptr;
    std::vector<std::string> names;  // lower-case DNS names from SAN, else CN
  };
  static int onServerName(SSL* ssl, int* alert, void* arg);
  static int onAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* arg);

  std::vector<Cert> certs_;
  std::string alpn_wire_;  // ALPN protocols we accept, in wire format
  bool mtls_ = false;
};

class TlsClientContext {
 public:
  ~TlsClientContext();
  // `offer_h2`: ALPN offers h2 (an upstream with protocol h2); otherwise http/1.1.
  static std::shared_ptr<TlsClientContext> build(const config::UpstreamTls& tls, std::string& error,
                                                 bool offer_h2 = false);
  SSL_CTX* context() const { return ctx_; }
  bool verify() const { return verify_; }
  const std::string& sni() const { return sni_; }
  // Unique to this context in the process, and the id context of every session it makes:
  // a cached session is resumed only by the context that verified it.
  const std::string& sessionTag() const { return session_tag_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  std::string session_tag_;
  bool verify_ = true;
  std::string sni_;
};

// Whether `host` (lower-case) is matched by certificate name `pattern` (one-label wildcard).
bool certNameMatches(const std::string& pattern, const std::string& host);

// Loads a cert/key pair as a listener does, for config::LoadOptions::check_certificate, so that
// `-t`, start and reload refuse the same files, each at the config line that names it.
std::optional<config::CertificateProblem> checkCertificateFiles(const config::Certificate& c);

}  // namespace sluice::proxy
