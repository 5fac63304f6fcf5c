#include "proxy/tls/tls_context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include "proxy/tls/tls_session_cache.h"

namespace sluice::proxy {

namespace {
std::string sslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

int versionOf(const std::string& v) {
  return v == "TLSv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// Session-ticket keys shared by every worker and every config version of the process, rotated
// every 12 hours; the previous key still decrypts, so resumption survives a rotation.
class TicketKeys {
 public:
  static TicketKeys& instance() {
    static TicketKeys k;
    return k;
  }
  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    time_t created;
  };
  // Current key (rotating first when due) and, for decryption, a key by name.
  bool current(Key& out) {
    std::lock_guard lock(mu_);
    time_t now = time(nullptr);
    if (keys_.empty() || now - keys_.front().created > 12 * 3600) {
      Key k{};
      if (RAND_bytes(k.name, sizeof k.name) != 1 || RAND_bytes(k.aes, sizeof k.aes) != 1 ||
          RAND_bytes(k.hmac, sizeof k.hmac) != 1) {
        return false;
      }
      k.created = now;
      keys_.insert(keys_.begin(), k);
      if (keys_.size() > 2) keys_.pop_back();
    }
    out = keys_.front();
    return true;
  }
  bool find(const unsigned char* name, Key& out, bool& is_current) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (std::memcmp(keys_[i].name, name, 16) == 0) {
        out = keys_[i];
        is_current = i == 0;
        return true;
      }
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<Key> keys_;
};

// Fetched once: an implicit fetch per ticket (EVP_aes_256_cbc()) costs a provider lookup with
// locks each time in OpenSSL 3, which showed in handshake profiles.
const EVP_CIPHER* ticketCipher() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}

int ticketCallback(SSL*, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cctx,
                   EVP_MAC_CTX* hctx, int enc) {
  TicketKeys::Key k{};
  OSSL_PARAM params[2];
  params[0] =
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  params[1] = OSSL_PARAM_construct_end();
  if (enc == 1) {
    if (!TicketKeys::instance().current(k)) return -1;
    std::memcpy(key_name, k.name, 16);
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    if (EVP_EncryptInit_ex(cctx, ticketCipher(), nullptr, k.aes, iv) != 1) return -1;
    if (EVP_MAC_init(hctx, k.hmac, sizeof k.hmac, params) != 1) return -1;
    return 1;
  }
  bool is_current = false;
  if (!TicketKeys::instance().find(key_name, k, is_current)) return 0;  // unknown: full handshake
  if (EVP_MAC_init(hctx, k.hmac, sizeof k.hmac, params) != 1) return -1;
  if (EVP_DecryptInit_ex(cctx, ticketCipher(), nullptr, k.aes, iv) != 1) return -1;
  return is_current ? 1 : 2;  // 2: valid, but issue a new ticket under the current key
}

// The session id context, which OpenSSL compares before it resumes a session (by id or ticket):
// a session resumes only where its handshake proved what the listener asks. Listeners without
// client_ca share one; one with client_ca gets a digest of the CA file's contents, so neither a
// session from a listener without mTLS nor one from before a reload that changed the CA lets a
// client skip its certificate (tickets and the session cache are shared by all listeners).
bool sessionIdContext(const config::ListenerTls& tls, unsigned char* out, unsigned int& len,
                      std::string& error) {
  std::string input = "sluice";
  if (tls.client_ca) {
    std::ifstream f(*tls.client_ca, std::ios::binary);
    std::ostringstream content;
    content << f.rdbuf();
    if (!f) {
      error = "TLS client_ca " + *tls.client_ca + ": cannot be read";
      return false;
    }
    input += " client_ca\n" + content.str();
  }
  static_assert(SSL_MAX_SID_CTX_LENGTH >= 32, "a SHA-256 digest fits an id context");
  if (EVP_Digest(input.data(), input.size(), out, &len, EVP_sha256(), nullptr) != 1) {
    error = "TLS: " + sslError();
    return false;
  }
  return true;
}

std::vector<std::string> certificateNames(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type != GEN_DNS) continue;
      const unsigned char* p = ASN1_STRING_get0_data(gn->d.dNSName);
      std::string n(reinterpret_cast<const char*>(p),
                    static_cast<size_t>(ASN1_STRING_length(gn->d.dNSName)));
      for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      names.push_back(n);
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      std::string n = cn;
      for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      names.push_back(n);
    }
  }
  return names;
}
}  // namespace

bool certNameMatches(const std::string& pattern, const std::string& host) {
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    size_t dot = host.find('.');
    return dot != std::string::npos && dot > 0 && host.substr(dot) == pattern.substr(1);
  }
  return pattern == host;
}

TlsServerContext::~TlsServerContext() {
  for (Cert& c : certs_) SSL_CTX_free(c.ctx);
}

std::shared_ptr<TlsServerContext> TlsServerContext::build(const config::ListenerTls& tls,
                                                          std::string& error) {
  auto out = std::shared_ptr<TlsServerContext>(new TlsServerContext());
  for (const std::string& p : tls.alpn) {
    out->alpn_wire_.push_back(static_cast<char>(p.size()));
    out->alpn_wire_.append(p);
  }
  out->mtls_ = tls.client_ca.has_value();
  unsigned char sid_ctx[EVP_MAX_MD_SIZE];
  unsigned int sid_ctx_len = 0;
  if (!sessionIdContext(tls, sid_ctx, sid_ctx_len, error)) return nullptr;
  for (const config::Certificate& c : tls.certificates) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) {
      error = "TLS: " + sslError();
      return nullptr;
    }
    out->certs_.push_back(Cert{ctx, {}});
    SSL_CTX_set_min_proto_version(ctx, versionOf(tls.min_version));
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, c.cert.c_str()) != 1) {
      error = "TLS certificate " + c.cert + ": " + sslError();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, c.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      error = "TLS key " + c.key + ": " + sslError();
      return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      error = "TLS key " + c.key + " does not match certificate " + c.cert;
      ERR_clear_error();
      return nullptr;
    }
    out->certs_.back().names = certificateNames(SSL_CTX_get0_certificate(ctx));
    if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sid_ctx_len) != 1) {
      error = "TLS: " + sslError();
      return nullptr;
    }
    useSharedSessionCache(ctx);
    // One TLS 1.3 ticket per handshake (OpenSSL sends two by default): each costs an
    // encryption and a MAC, and a client resumes with one.
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticketCallback);
    SSL_CTX_set_alpn_select_cb(ctx, onAlpn, out.get());
    if (tls.client_ca) {
      if (SSL_CTX_load_verify_locations(ctx, tls.client_ca->c_str(), nullptr) != 1) {
        error = "TLS client_ca " + *tls.client_ca + ": " + sslError();
        return nullptr;
      }
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca->c_str());
      if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
  }
  if (out->certs_.empty()) {
    error = "TLS: a listener needs at least one certificate";
    return nullptr;
  }
  SSL_CTX_set_tlsext_servername_callback(out->certs_.front().ctx, onServerName);
  SSL_CTX_set_tlsext_servername_arg(out->certs_.front().ctx, out.get());
  return out;
}

SSL_CTX* TlsServerContext::select(const std::string& server_name) const {
  std::string host = server_name;
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const Cert& c : certs_) {
    for (const std::string& n : c.names) {
      if (n == host) return c.ctx;
    }
  }
  for (const Cert& c : certs_) {
    for (const std::string& n : c.names) {
      if (certNameMatches(n, host)) return c.ctx;
    }
  }
  return certs_.front().ctx;
}

int TlsServerContext::onServerName(SSL* ssl, int*, void* arg) {
  auto* self = static_cast<TlsServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  SSL_CTX* chosen = self->select(name);
  if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;
}

int TlsServerContext::onAlpn(SSL*, const unsigned char** out, unsigned char* outlen,
                             const unsigned char* in, unsigned int inlen, void* arg) {
  auto* self = static_cast<TlsServerContext*>(arg);
  unsigned char* sel = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(self->alpn_wire_.data());
  if (SSL_select_next_proto(&sel, outlen, ours, static_cast<unsigned>(self->alpn_wire_.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN (HTTP/1.1)
  }
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

TlsClientContext::~TlsClientContext() {
  SSL_CTX_free(ctx_);
}

std::shared_ptr<TlsClientContext> TlsClientContext::build(const config::UpstreamTls& tls,
                                                          std::string& error, bool offer_h2) {
  auto out = std::shared_ptr<TlsClientContext>(new TlsClientContext());
  out->ctx_ = SSL_CTX_new(TLS_client_method());
  if (out->ctx_ == nullptr) {
    error = "TLS: " + sslError();
    return nullptr;
  }
  out->verify_ = tls.verify;
  out->sni_ = tls.sni.value_or("");
  SSL_CTX* ctx = out->ctx_;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  static std::atomic<uint64_t> next_tag{0};
  out->session_tag_ = "sluice-upstream-" + std::to_string(++next_tag);
  SSL_CTX_set_session_id_context(ctx,
                                 reinterpret_cast<const unsigned char*>(out->session_tag_.data()),
                                 static_cast<unsigned>(out->session_tag_.size()));
  // An HTTP/2 upstream (protocol h2) offers h2 alone: a server that cannot speak it fails the
  // connection rather than answering in HTTP/1.1 on a session sluice frames as HTTP/2.
  static const unsigned char kAlpnHttp1[] = "\x08http/1.1";
  static const unsigned char kAlpnH2[] = "\x02h2";
  int alpn_rc = offer_h2 ? SSL_CTX_set_alpn_protos(ctx, kAlpnH2, sizeof kAlpnH2 - 1)
                         : SSL_CTX_set_alpn_protos(ctx, kAlpnHttp1, sizeof kAlpnHttp1 - 1);
  if (alpn_rc != 0) {  // 0 is success for this call
    error = "upstream TLS ALPN: " + sslError();
    return nullptr;
  }
  if (tls.verify) {
    if (SSL_CTX_load_verify_locations(ctx, tls.ca.c_str(), nullptr) != 1) {
      error = "upstream TLS ca " + tls.ca + ": " + sslError();
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (tls.client_certificate) {
    const config::Certificate& c = *tls.client_certificate;
    if (SSL_CTX_use_certificate_chain_file(ctx, c.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, c.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      error = "upstream TLS client certificate " + c.cert + " / " + c.key + ": " + sslError();
      return nullptr;
    }
  }
  return out;
}

namespace {

std::string certificateErrorReason() {
  unsigned long e = ERR_peek_last_error();
  const char* reason = ERR_reason_error_string(e);
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

}  // namespace

// The key is read on its own first, so a key of another certificate is told apart from a key
// that cannot be read.
std::optional<config::CertificateProblem> checkCertificateFiles(const config::Certificate& c) {
  std::optional<config::CertificateProblem> problem;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return problem;  // no memory now: the start itself will say so
  EVP_PKEY* key = nullptr;
  if (BIO* bio = BIO_new_file(c.key.c_str(), "r")) {
    // No passphrase prompt: an encrypted key is refused, as at start.
    key = PEM_read_bio_PrivateKey(
        bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
    BIO_free(bio);
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, c.cert.c_str()) != 1) {
    problem = {false, "\"" + c.cert + "\" is not a usable PEM certificate chain (" +
                          certificateErrorReason() +
                          "); point cert: at the certificate chain file"};
  } else if (key == nullptr) {
    problem = {true, "\"" + c.key + "\" is not a usable PEM private key (" +
                         certificateErrorReason() +
                         "); point key: at an unencrypted private key file"};
  } else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    problem = {true, "\"" + c.key + "\" does not match the certificate \"" + c.cert +
                         "\"; give the key that belongs to it"};
  }
  EVP_PKEY_free(key);
  SSL_CTX_free(ctx);
  return problem;
}

}  // namespace sluice::proxy
