// The jwt filter (spec/gateway.md, "Edge security filters"): a bearer token from a header
// (Authorization: Bearer), a cookie or a query parameter, verified as a JWS with the keys of a
// JWK set file or URL (auth/jwks_source.h) or an HS* shared secret and the algorithms the config
// allows, its iss, aud, exp and nbf checked. A good token lets the request through with
// claims_to_headers set and its claims kept for the rate-limit key jwt:CLAIM; a missing one gets
// 401 `WWW-Authenticate: Bearer realm="sluice"` (RFC 6750 §3: no error code) unless `optional`, a
// bad one 401 with error="invalid_token" and a short reason. Verified tokens are cached by their
// SHA-256 until exp (auth/token_cache.h). The token itself is never logged nor echoed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "filters/auth/jwks_source.h"
#include "filters/auth/jwt_verify.h"
#include "filters/auth/token_cache.h"
#include "filters/auth_decisions.h"
#include "filters/filter.h"

namespace sluice::filters {

class JwtFactory final : public FilterFactory {
 public:
  // Null with `*error` set when a key of the set cannot be used. `now` gives unix seconds (the
  // wall clock; tests pass their own).
  static std::shared_ptr<const JwtFactory> make(const config::JwtFilter& cfg, AuthCounters counters,
                                                std::string* error,
                                                std::function<int64_t()> now = nullptr);
  std::unique_ptr<Filter> create() const override;

  // The claims of `token` when it is valid now, else null with `*why` set (worker thread).
  // `*unknown_key` (when given) tells that no key of the set could check it (its kid is not
  // there, or there is no set yet): a fetched set may be worth refreshing.
  std::shared_ptr<const JwtClaims> verify(std::string_view token, std::string* why,
                                          bool* unknown_key = nullptr) const;
  // The fetched key set of a `jwks: {url}` config, else null.
  auth::JwksSource* source() const { return source_.get(); }

  const config::JwtFilter& config() const { return cfg_; }
  const AuthCounters& counters() const { return counters_; }
  int64_t now() const { return now_(); }

 private:
  JwtFactory(const config::JwtFilter& cfg, AuthCounters counters);

  config::JwtFilter cfg_;
  std::vector<auth::JwsAlg> algorithms_;
  std::vector<std::shared_ptr<const auth::VerifyKey>> keys_;
  std::shared_ptr<auth::JwksSource> source_;  // jwks: {url}: keys_ stays empty
  std::shared_ptr<const auth::VerifyKey> secret_;
  AuthCounters counters_;
  std::function<int64_t()> now_;
  mutable auth::TokenCache cache_{10000};
};

}  // namespace sluice::filters
