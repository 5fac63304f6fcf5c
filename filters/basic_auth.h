// The basic_auth filter: HTTP Basic credentials (RFC 7617) checked against an htpasswd file
// read at load and reload (config/credential_files.h). The password check runs on the shared
// PasswordVerifier pool, never on the worker loop; the request waits (Stop) and is resumed
// through its Waker. A known good user:password is answered from the verifier's cache. Unknown
// users are checked against another entry's hash and refused, so they cost the same time.
// Missing or malformed credentials and wrong ones get 401 with
// `WWW-Authenticate: Basic realm="..."`; a full verifier queue gets 503. The user becomes the
// request's consumer (the rate-limit key `consumer`).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "config/config.h"
#include "filters/auth_decisions.h"
#include "filters/filter.h"
#include "filters/password_verifier.h"

namespace sluice::filters {

class BasicAuthFactory final : public FilterFactory {
 public:
  BasicAuthFactory(const config::BasicAuthFilter& cfg, AuthCounters counters,
                   PasswordVerifier& verifier);
  std::unique_ptr<Filter> create() const override;

  // The stored hash of `user`, or null.
  const std::string* hashOf(const std::string& user) const;
  // A hash to check unknown users against (empty when the file has no users).
  const std::string& decoyHash() const { return decoy_; }
  const std::string& challenge() const { return challenge_; }
  const AuthCounters& counters() const { return counters_; }
  PasswordVerifier& verifier() const { return verifier_; }

 private:
  std::unordered_map<std::string, std::string> users_;
  std::string decoy_;
  std::string challenge_;
  AuthCounters counters_;
  PasswordVerifier& verifier_;
};

// `Basic <base64(user:password)>` (scheme case-insensitive) into its parts; false when it is not
// one. Exposed for tests.
bool parseBasicCredentials(std::string_view field, std::string& user, std::string& password);

}  // namespace sluice::filters
