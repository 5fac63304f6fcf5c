// A compact JWS (RFC 7515 §7.1) taken apart, and the registered claims of a JWT (RFC 7519 §4.1)
// checked against a jwt filter's config. No cryptography here (jwt_verify.h) and no exception:
// JSON goes through nlohmann-json's non-throwing parser, every type is checked before use.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "filters/filter.h"

namespace sluice::filters::auth {

// Tokens longer than this are refused before any parsing.
constexpr size_t kMaxTokenBytes = 8192;

struct ParsedToken {
  std::string alg;
  std::string kid;                 // empty when the header has none
  std::string_view signing_input;  // header.payload, pointing into the token
  std::string signature;           // decoded
  // exp and nbf in seconds since the epoch, when present.
  std::optional<int64_t> exp, nbf;
  std::optional<std::string> iss;
  std::vector<std::string> aud;
  std::shared_ptr<const JwtClaims> claims;  // top-level scalar claims as text
};

// Splits and decodes `token` (three base64url segments; JSON objects for header and payload;
// `crit` headers refused, as no extension is understood). nullopt with `*why` set to a short
// reason that quotes nothing from the token.
std::optional<ParsedToken> parseToken(std::string_view token, std::string* why);

// The claims check of a token whose signature is good: iss, aud, exp and nbf (with `leeway`
// seconds) at `now` (unix seconds). nullopt when accepted, else the reason for
// error_description.
std::optional<std::string> checkClaims(const ParsedToken& t, const config::JwtFilter& cfg,
                                       int64_t now);

}  // namespace sluice::filters::auth
