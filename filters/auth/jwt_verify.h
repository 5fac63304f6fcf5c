// JWS signature checks (RFC 7515/7518, RFC 8037) with OpenSSL 3 EVP: the verification keys of a
// jwt filter (public keys from a JWK set, or an HMAC shared secret) and the check of one
// signature. A key verifies only the algorithms of its own family (an RSA key never serves an
// HS256 token: no algorithm confusion). Thread-safe once built: keys are read-only.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace sluice::filters::auth {

enum class JwsAlg {
  RS256,
  RS384,
  RS512,
  PS256,
  PS384,
  PS512,
  ES256,
  ES384,
  EdDSA,
  HS256,
  HS384,
  HS512
};

// The algorithm named `name` ("RS256" ...), or nullopt (e.g. "none").
std::optional<JwsAlg> parseJwsAlg(std::string_view name);

class VerifyKey {
 public:
  // A public key from `jwk`; null with `*err` set when OpenSSL refuses it (e.g. an EC point not
  // on its curve). Main thread (config load) or a worker (a fetched key set).
  static std::shared_ptr<const VerifyKey> fromJwk(const config::Jwk& jwk, std::string* err);
  // The HS* shared secret.
  static std::shared_ptr<const VerifyKey> fromSecret(std::string secret);
  ~VerifyKey();
  VerifyKey(const VerifyKey&) = delete;
  VerifyKey& operator=(const VerifyKey&) = delete;

  // Whether this key may verify `alg`: its family matches, and the JWK's own `alg` (when it has
  // one) is `alg`.
  bool fits(JwsAlg alg) const;
  const std::string& kid() const { return kid_; }

  // Whether `signature` (raw bytes, as the token carries it: r||s for ES*) is a valid `alg`
  // signature of `input` by this key. False also when the key does not fit `alg`.
  bool verify(JwsAlg alg, std::string_view input, std::string_view signature) const;

 private:
  enum class Family { Rsa, P256, P384, Ed25519, Hmac };
  VerifyKey() = default;

  Family family_ = Family::Hmac;
  EVP_PKEY* pkey_ = nullptr;
  std::string secret_;
  std::string kid_;
  std::optional<JwsAlg> alg_;  // the JWK's `alg`
};

}  // namespace sluice::filters::auth
