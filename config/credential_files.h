// The credential files that auth filters name (spec/gateway.md, "Edge security filters"): an
// htpasswd file for basic_auth and a YAML list of key hashes for api_key. Read by the loader at
// every load and reload, so a changed file takes effect with the next reload; what they hold is
// never written into a diagnostic (only line numbers and the reason).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace sluice::config {

// Why a credential file could not be used: `line` (1-based; 0 = the whole file) and `column`
// (1-based; 0 = unknown) inside it, and a sentence that quotes no secret.
struct CredentialFileError {
  int line = 0;
  int column = 0;
  std::string message;
};

// Parses htpasswd text: `user:hash` lines; blank lines and `#` comments are skipped. Accepts
// bcrypt ($2y$, $2b$, $2a$) and SHA-crypt ($5$, $6$) hashes; any other scheme, a line without
// `:`, an empty user or a user listed twice is an error.
std::optional<CredentialFileError> parseHtpasswd(std::string_view text,
                                                 std::vector<HtpasswdEntry>* out);

// Parses an api_key keys file: a YAML list of {consumer: NAME, key_sha256: 64 hex digits}.
// Hex digits are lower-cased; a hash listed twice is an error.
std::optional<CredentialFileError> parseApiKeys(std::string_view text,
                                                std::vector<ApiKeyEntry>* out);

// The whole file, or nullopt with `*err` set to why it cannot be read. Also how the loader reads
// the config file and its includes.
std::optional<std::string> readCredentialFile(const std::string& path, std::string* err);

}  // namespace sluice::config
