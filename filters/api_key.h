// The api_key filter: a key from a request header or query parameter, checked against the
// SHA-256 hashes of a keys file read at load and reload (config/credential_files.h). The
// presented key's hash is compared with every stored one in constant time (CRYPTO_memcmp, no
// early exit), so timing tells nothing about which bytes matched. A match makes the entry's
// consumer the request's consumer (the rate-limit key `consumer`); a missing or unknown key
// gets 401 with `WWW-Authenticate: ApiKey` (the scheme names where the key goes, e.g.
// `ApiKey header="x-api-key"`). A key taken from the query is masked in the access log.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "filters/auth_decisions.h"
#include "filters/filter.h"

namespace sluice::filters {

class ApiKeyFactory final : public FilterFactory {
 public:
  ApiKeyFactory(const config::ApiKeyFilter& cfg, AuthCounters counters);
  std::unique_ptr<Filter> create() const override;

  // The consumer whose key hashes to the SHA-256 of `key`, or null. Worker thread.
  const std::string* consumerOf(std::string_view key) const;
  const config::ApiKeyFilter& config() const { return cfg_; }
  const std::string& challenge() const { return challenge_; }
  const AuthCounters& counters() const { return counters_; }

 private:
  struct Key {
    std::array<unsigned char, 32> sha256;
    std::string consumer;
  };
  config::ApiKeyFilter cfg_;
  std::vector<Key> keys_;
  std::string challenge_;
  AuthCounters counters_;
};

}  // namespace sluice::filters
