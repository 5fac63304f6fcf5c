// base64url (RFC 4648 §5) as JOSE writes it: the URL-safe alphabet without padding. Used for
// JWT segments and JWK members; pure, so the config loader and the jwt filter share it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

// The bytes `text` encodes, or nullopt when it holds a character outside [A-Za-z0-9_-] (padding
// `=` included, as RFC 7515 §2 forbids it), has an impossible length (4n+1) or non-zero unused
// bits in its last character (so every byte string has exactly one encoding).
std::optional<std::string> decodeBase64Url(std::string_view text);

// `bytes` encoded without padding.
std::string encodeBase64Url(std::string_view bytes);

}  // namespace sluice::config
