// JSON Web Key Sets (RFC 7517) as the jwt filter uses them: parsed here, without OpenSSL, so the
// loader can report a malformed `jwks: {file:}` at its key and the filter can parse a set it
// fetched from a `jwks: {url:}` with the same rules. JSON goes through nlohmann-json's
// non-throwing parser.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/credential_files.h"

namespace sluice::config {

// Parses `{"keys": [...]}`. Keys of type RSA (n, e), EC (crv P-256/P-384, x, y) and OKP
// (crv Ed25519, x) are kept, their members base64url-decoded and their lengths checked; keys
// meant for encryption (`use: enc`), of other types (oct: shared secrets do not belong in a key
// set) or curves are skipped, as RFC 7517 §5 allows. An error names the key by its index; a set
// with no usable key is an error too. Never quotes key material.
std::optional<CredentialFileError> parseJwks(std::string_view text, std::vector<Jwk>* out);

}  // namespace sluice::config
