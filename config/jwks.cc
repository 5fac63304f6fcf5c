#include "config/jwks.h"

#include <nlohmann/json.hpp>

#include "config/base64url.h"

namespace sluice::config {

namespace {
using Json = nlohmann::json;

// The base64url-decoded string member `name` of `key`, or an error message.
std::optional<std::string> member(const Json& key, const char* name, std::string* err) {
  auto it = key.find(name);
  if (it == key.end() || !it->is_string()) {
    *err = std::string("has no \"") + name + "\" string";
    return std::nullopt;
  }
  auto bytes = decodeBase64Url(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) *err = std::string("\"") + name + "\" is not base64url";
  return bytes && !bytes->empty() ? bytes : std::nullopt;
}

std::string optionalString(const Json& key, const char* name) {
  auto it = key.find(name);
  return it != key.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Fills `jwk` from `key`; false with `err` set when a kept key is malformed. `skip` set: a key
// of a kind the filter does not use.
bool readKey(const Json& key, Jwk* jwk, bool* skip, std::string* err) {
  *skip = false;
  if (!key.is_object()) {
    *err = "is not an object";
    return false;
  }
  jwk->kty = optionalString(key, "kty");
  jwk->kid = optionalString(key, "kid");
  jwk->alg = optionalString(key, "alg");
  jwk->crv = optionalString(key, "crv");
  if (optionalString(key, "use") == "enc") {
    *skip = true;
    return true;
  }
  if (jwk->kty == "RSA") {
    auto n = member(key, "n", err);
    auto e = n ? member(key, "e", err) : std::nullopt;
    if (!n || !e) return false;
    size_t lead = n->find_first_not_of('\0');
    if (lead == std::string::npos || (n->size() - lead) * 8 < 2048 - 8 || e->size() > 8) {
      *err = "is an RSA key under 2048 bits or with an oversized exponent";
      return false;
    }
    jwk->n = std::move(*n);
    jwk->e = std::move(*e);
    return true;
  }
  if (jwk->kty == "EC") {
    size_t len = jwk->crv == "P-256" ? 32 : jwk->crv == "P-384" ? 48 : 0;
    if (len == 0) {
      *skip = true;  // e.g. P-521, secp256k1: no algorithm of the filter uses them
      return true;
    }
    auto x = member(key, "x", err);
    auto y = x ? member(key, "y", err) : std::nullopt;
    if (!x || !y) return false;
    if (x->size() != len || y->size() != len) {
      *err = "has x or y of the wrong length for " + jwk->crv;
      return false;
    }
    jwk->x = std::move(*x);
    jwk->y = std::move(*y);
    return true;
  }
  if (jwk->kty == "OKP") {
    if (jwk->crv != "Ed25519") {
      *skip = true;
      return true;
    }
    auto x = member(key, "x", err);
    if (!x) return false;
    if (x->size() != 32) {
      *err = "has an Ed25519 \"x\" that is not 32 bytes";
      return false;
    }
    jwk->x = std::move(*x);
    return true;
  }
  if (jwk->kty.empty()) {
    *err = "has no \"kty\"";
    return false;
  }
  *skip = true;  // oct and types yet to come
  return true;
}
}  // namespace

std::optional<CredentialFileError> parseJwks(std::string_view text, std::vector<Jwk>* out) {
  Json doc = Json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return CredentialFileError{0, 0, "is not JSON"};
  auto keys = doc.is_object() ? doc.find("keys") : doc.end();
  if (!doc.is_object() || keys == doc.end() || !keys->is_array()) {
    return CredentialFileError{0, 0, "is not a JWK set: write {\"keys\": [...]}"};
  }
  std::vector<Jwk> found;
  for (size_t i = 0; i < keys->size(); ++i) {
    Jwk jwk;
    bool skip = false;
    std::string err;
    if (!readKey((*keys)[i], &jwk, &skip, &err)) {
      std::string name = jwk.kid.empty() ? "" : " (kid \"" + jwk.kid + "\")";
      return CredentialFileError{0, 0, "key " + std::to_string(i) + name + " " + err};
    }
    if (!skip) found.push_back(std::move(jwk));
  }
  if (found.empty()) {
    return CredentialFileError{0, 0, "holds no RSA, EC (P-256, P-384) or Ed25519 signing key"};
  }
  *out = std::move(found);
  return std::nullopt;
}

}  // namespace sluice::config
