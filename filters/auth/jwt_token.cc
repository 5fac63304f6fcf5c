#include "filters/auth/jwt_token.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "config/base64url.h"

namespace sluice::filters::auth {

namespace {
using Json = nlohmann::json;

std::optional<Json> decodeObject(std::string_view segment) {
  auto bytes = config::decodeBase64Url(segment);
  if (!bytes) return std::nullopt;
  Json j = Json::parse(*bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// A NumericDate (RFC 7519 §2): a JSON number, fractions allowed; nullopt for anything else.
std::optional<int64_t> numericDate(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && std::fabs(d) < 1e15) return static_cast<int64_t>(std::floor(d));
  }
  return std::nullopt;
}

std::optional<std::string> scalarText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean() || v.is_number()) return v.dump();
  return std::nullopt;
}
}  // namespace

std::optional<ParsedToken> parseToken(std::string_view token, std::string* why) {
  *why = "malformed token";
  if (token.size() > kMaxTokenBytes) {
    *why = "token too large";
    return std::nullopt;
  }
  size_t d1 = token.find('.');
  size_t d2 = d1 == token.npos ? token.npos : token.find('.', d1 + 1);
  if (d2 == token.npos || token.find('.', d2 + 1) != token.npos) return std::nullopt;
  auto header = decodeObject(token.substr(0, d1));
  auto payload = header ? decodeObject(token.substr(d1 + 1, d2 - d1 - 1)) : std::nullopt;
  auto sig = payload ? config::decodeBase64Url(token.substr(d2 + 1)) : std::nullopt;
  if (!sig) return std::nullopt;
  ParsedToken t;
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return std::nullopt;
  t.alg = alg->get<std::string>();
  auto kid = header->find("kid");
  if (kid != header->end()) {
    if (!kid->is_string()) return std::nullopt;
    t.kid = kid->get<std::string>();
  }
  if (header->contains("crit")) {
    *why = "unsupported critical header";
    return std::nullopt;
  }
  t.signing_input = token.substr(0, d2);
  t.signature = std::move(*sig);
  auto claims = std::make_shared<JwtClaims>();
  for (auto it = payload->begin(); it != payload->end(); ++it) {
    const Json& v = it.value();
    if (it.key() == "exp" || it.key() == "nbf") {
      auto when = numericDate(v);
      if (!when) return std::nullopt;
      (it.key() == "exp" ? t.exp : t.nbf) = when;
    } else if (it.key() == "iss") {
      if (!v.is_string()) return std::nullopt;
      t.iss = v.get<std::string>();
    } else if (it.key() == "aud") {
      if (v.is_string()) {
        t.aud.push_back(v.get<std::string>());
      } else if (v.is_array()) {
        for (const Json& a : v) {
          if (!a.is_string()) return std::nullopt;
          t.aud.push_back(a.get<std::string>());
        }
      } else {
        return std::nullopt;
      }
    }
    if (auto text = scalarText(v)) claims->values.emplace_back(it.key(), std::move(*text));
  }
  t.claims = std::move(claims);
  return t;
}

std::optional<std::string> checkClaims(const ParsedToken& t, const config::JwtFilter& cfg,
                                       int64_t now) {
  int64_t leeway = std::chrono::duration_cast<std::chrono::seconds>(cfg.leeway).count();
  if (t.exp && now - leeway >= *t.exp) return "token expired";
  if (t.nbf && now + leeway < *t.nbf) return "token not yet valid";
  if (!cfg.issuer.empty() && (!t.iss || *t.iss != cfg.issuer)) return "issuer not accepted";
  if (!cfg.audiences.empty()) {
    bool match = false;
    for (const std::string& a : t.aud) {
      for (const std::string& want : cfg.audiences) match = match || a == want;
    }
    if (!match) return "audience not accepted";
  }
  return std::nullopt;
}

}  // namespace sluice::filters::auth
