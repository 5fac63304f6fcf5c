#include "filters/auth/jwt_verify.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

namespace sluice::filters::auth {

namespace {
constexpr std::pair<std::string_view, JwsAlg> kNames[] = {
    {"RS256", JwsAlg::RS256}, {"RS384", JwsAlg::RS384}, {"RS512", JwsAlg::RS512},
    {"PS256", JwsAlg::PS256}, {"PS384", JwsAlg::PS384}, {"PS512", JwsAlg::PS512},
    {"ES256", JwsAlg::ES256}, {"ES384", JwsAlg::ES384}, {"EdDSA", JwsAlg::EdDSA},
    {"HS256", JwsAlg::HS256}, {"HS384", JwsAlg::HS384}, {"HS512", JwsAlg::HS512},
};

const EVP_MD* digestOf(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::RS256:
    case JwsAlg::PS256:
    case JwsAlg::ES256:
    case JwsAlg::HS256:
      return EVP_sha256();
    case JwsAlg::RS384:
    case JwsAlg::PS384:
    case JwsAlg::ES384:
    case JwsAlg::HS384:
      return EVP_sha384();
    case JwsAlg::RS512:
    case JwsAlg::PS512:
    case JwsAlg::HS512:
      return EVP_sha512();
    case JwsAlg::EdDSA:
      return nullptr;
  }
  return nullptr;
}

BIGNUM* toBn(const std::string& bytes) {
  return BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                   static_cast<int>(bytes.size()), nullptr);
}

// An EVP_PKEY of `type` ("RSA", "EC") from the parameters in `bld`; null on failure.
EVP_PKEY* fromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    EVP_PKEY_free(pkey);
    pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

EVP_PKEY* rsaKey(const config::Jwk& jwk) {
  BIGNUM* n = toBn(jwk.n);
  BIGNUM* e = toBn(jwk.e);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  if (n != nullptr && e != nullptr && bld != nullptr &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1) {
    pkey = fromParams("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);
  return pkey;
}

EVP_PKEY* ecKey(const config::Jwk& jwk, const char* group) {
  std::string point = "\x04" + jwk.x + jwk.y;  // uncompressed SEC1 point
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  if (bld != nullptr &&
      OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) ==
          1) {
    pkey = fromParams("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  if (pkey != nullptr) {
    // EVP_PKEY_fromdata takes the point as given; a point off the curve is refused here.
    EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
    bool ok = check != nullptr && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
      EVP_PKEY_free(pkey);
      pkey = nullptr;
    }
  }
  return pkey;
}

// JOSE's r||s (RFC 7518 §3.4) as the DER ECDSA-Sig-Value OpenSSL checks; empty on failure.
std::string joseToDer(std::string_view sig, size_t half) {
  if (sig.size() != 2 * half) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(p, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(p + half, static_cast<int>(half), nullptr);
  std::string out;
  if (es != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(es, r, s) == 1) {
    r = s = nullptr;  // owned by `es` now
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(es, &der);
    if (len > 0) out.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(es);
  return out;
}
}  // namespace

std::optional<JwsAlg> parseJwsAlg(std::string_view name) {
  for (const auto& [n, a] : kNames) {
    if (n == name) return a;
  }
  return std::nullopt;
}

std::shared_ptr<const VerifyKey> VerifyKey::fromJwk(const config::Jwk& jwk, std::string* err) {
  std::shared_ptr<VerifyKey> k(new VerifyKey());
  k->kid_ = jwk.kid;
  if (!jwk.alg.empty()) {
    k->alg_ = parseJwsAlg(jwk.alg);
    if (!k->alg_) {
      *err = "its alg \"" + jwk.alg + "\" is not supported";
      return nullptr;
    }
  }
  if (jwk.kty == "RSA") {
    k->family_ = Family::Rsa;
    k->pkey_ = rsaKey(jwk);
  } else if (jwk.kty == "EC") {
    k->family_ = jwk.crv == "P-256" ? Family::P256 : Family::P384;
    k->pkey_ = ecKey(jwk, jwk.crv == "P-256" ? "P-256" : "P-384");
  } else if (jwk.kty == "OKP") {
    k->family_ = Family::Ed25519;
    k->pkey_ = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(jwk.x.data()),
                                           jwk.x.size());
  }
  if (k->pkey_ == nullptr) {
    *err = "OpenSSL refused the " + jwk.kty + " key";
    return nullptr;
  }
  if (k->alg_ && !k->fits(*k->alg_)) {
    *err = "its alg \"" + jwk.alg + "\" does not match its key type";
    return nullptr;
  }
  return k;
}

std::shared_ptr<const VerifyKey> VerifyKey::fromSecret(std::string secret) {
  std::shared_ptr<VerifyKey> k(new VerifyKey());
  k->family_ = Family::Hmac;
  k->secret_ = std::move(secret);
  return k;
}

VerifyKey::~VerifyKey() {
  EVP_PKEY_free(pkey_);
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
}

bool VerifyKey::fits(JwsAlg alg) const {
  if (alg_ && *alg_ != alg) return false;
  switch (alg) {
    case JwsAlg::RS256:
    case JwsAlg::RS384:
    case JwsAlg::RS512:
    case JwsAlg::PS256:
    case JwsAlg::PS384:
    case JwsAlg::PS512:
      return family_ == Family::Rsa;
    case JwsAlg::ES256:
      return family_ == Family::P256;
    case JwsAlg::ES384:
      return family_ == Family::P384;
    case JwsAlg::EdDSA:
      return family_ == Family::Ed25519;
    case JwsAlg::HS256:
    case JwsAlg::HS384:
    case JwsAlg::HS512:
      return family_ == Family::Hmac;
  }
  return false;
}

bool VerifyKey::verify(JwsAlg alg, std::string_view input, std::string_view signature) const {
  if (!fits(alg)) return false;
  const EVP_MD* md = digestOf(alg);
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (family_ == Family::Hmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(md, secret_.data(), static_cast<int>(secret_.size()), data, input.size(), mac, &len) ==
        nullptr) {
      return false;
    }
    bool ok = signature.size() == len && CRYPTO_memcmp(mac, signature.data(), len) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return ok;
  }
  std::string der;
  if (family_ == Family::P256 || family_ == Family::P384) {
    der = joseToDer(signature, family_ == Family::P256 ? 32 : 48);
    if (der.empty()) return false;
    signature = der;
  }
  EVP_MD_CTX* mdctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = mdctx != nullptr && EVP_DigestVerifyInit(mdctx, &pctx, md, nullptr, pkey_) == 1;
  if (ok && (alg == JwsAlg::PS256 || alg == JwsAlg::PS384 || alg == JwsAlg::PS512)) {
    // RSASSA-PSS with MGF1 of the same hash and a salt as long as the digest (RFC 7518 §3.5).
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
  } else if (ok && family_ == Family::Rsa) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  }
  ok = ok && EVP_DigestVerify(mdctx, reinterpret_cast<const unsigned char*>(signature.data()),
                              signature.size(), data, input.size()) == 1;
  EVP_MD_CTX_free(mdctx);
  return ok;
}

}  // namespace sluice::filters::auth
