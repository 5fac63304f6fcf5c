// SHA-256 of a byte string, shared by the auth filters (api_key's key hashes, jwt's verified-token
// cache, basic_auth's password cache). The implementation is fetched from OpenSSL once:
// EVP_sha256() would look it up again on every call (OpenSSL 3).
#pragma once

#include <openssl/evp.h>

#include <array>
#include <string_view>

namespace sluice::filters::auth {

using Sha256Digest = std::array<unsigned char, 32>;

// Writes the digest of `in` to `out`; false when OpenSSL fails (`out` is then meaningless).
inline bool sha256(std::string_view in, Sha256Digest& out) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned int len = 0;
  return md != nullptr && EVP_Digest(in.data(), in.size(), out.data(), &len, md, nullptr) == 1 &&
         len == out.size();
}

}  // namespace sluice::filters::auth
