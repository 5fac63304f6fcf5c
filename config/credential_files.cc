// Reading and checking the htpasswd and api-key files (see credential_files.h).
#include "config/credential_files.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

namespace sluice::config {
namespace {

bool visibleAscii(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return !s.empty();
}

bool knownScheme(std::string_view hash) {
  for (std::string_view p : {"$2y$", "$2b$", "$2a$", "$5$", "$6$"}) {
    if (hash.substr(0, p.size()) == p) return true;
  }
  return false;
}

// The shape crypt(5) gives each scheme: bcrypt `$2y$NN$` and 53 characters; SHA-crypt
// `$5$[rounds=N$]salt$hash`. What crypt_rn would refuse at the first login is refused here.
bool wellFormed(std::string_view hash) {
  if (hash[1] == '2') {
    return hash.size() == 60 && std::isdigit(static_cast<unsigned char>(hash[4])) &&
           std::isdigit(static_cast<unsigned char>(hash[5])) && hash[6] == '$';
  }
  size_t salt_end = hash.find('$', 3);
  if (hash.substr(3, 7) == "rounds=" && salt_end != std::string_view::npos) {
    salt_end = hash.find('$', salt_end + 1);
  }
  return salt_end != std::string_view::npos && salt_end + 1 < hash.size();
}

CredentialFileError at(const YAML::Node& n, std::string message) {
  return {n.Mark().line + 1, n.Mark().column + 1, std::move(message)};
}

}  // namespace

std::optional<CredentialFileError> parseHtpasswd(std::string_view text,
                                                 std::vector<HtpasswdEntry>* out) {
  out->clear();
  std::set<std::string, std::less<>> users;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return CredentialFileError{line_no, 1, "not a user:hash line"};
    }
    std::string_view user = line.substr(0, colon);
    std::string_view hash = line.substr(colon + 1);
    if (!visibleAscii(user)) {
      return CredentialFileError{line_no, 1,
                                 "the user name is empty or holds spaces or "
                                 "control characters"};
    }
    if (!knownScheme(hash)) {
      return CredentialFileError{
          line_no, static_cast<int>(colon) + 2,
          "the hash of user \"" + std::string(user) +
              "\" is not bcrypt ($2y$) or SHA-crypt ($5$, $6$); make it with htpasswd -B"};
    }
    if (!wellFormed(hash)) {
      return CredentialFileError{line_no, static_cast<int>(colon) + 2,
                                 "the hash of user \"" + std::string(user) +
                                     "\" is cut or malformed; make it again with htpasswd -B"};
    }
    if (!users.insert(std::string(user)).second) {
      return CredentialFileError{line_no, 1,
                                 "user \"" + std::string(user) + "\" is listed twice; keep one"};
    }
    out->push_back(HtpasswdEntry{std::string(user), std::string(hash)});
  }
  return std::nullopt;
}

std::optional<CredentialFileError> parseApiKeys(std::string_view text,
                                                std::vector<ApiKeyEntry>* out) {
  out->clear();
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return CredentialFileError{e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg};
  }
  if (root.IsNull()) return std::nullopt;  // an empty file: no keys
  if (!root.IsSequence()) {
    return at(root, "expected a list of {consumer: NAME, key_sha256: HEX}");
  }
  std::set<std::string, std::less<>> hashes;
  for (const YAML::Node& item : root) {
    if (!item.IsMap()) return at(item, "expected a map {consumer: NAME, key_sha256: HEX}");
    ApiKeyEntry e;
    bool has_consumer = false;
    bool has_hash = false;
    for (const auto& kv : item) {
      const YAML::Node& k = kv.first;
      const YAML::Node& v = kv.second;
      std::string key = k.IsScalar() ? k.Scalar() : "";
      if (key == "consumer" && v.IsScalar()) {
        if (!visibleAscii(v.Scalar())) {
          return at(v, "consumer: the name is empty or holds spaces or control characters");
        }
        e.consumer = v.Scalar();
        has_consumer = true;
      } else if (key == "key_sha256" && v.IsScalar()) {
        // Never quoted back: a hash of a secret.
        const std::string& h = v.Scalar();
        bool hex = h.size() == 64;
        for (char c : h) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
        if (!hex) {
          return at(v, "key_sha256: expected 64 hex digits (sha256sum of the key)");
        }
        for (char c : h) e.key_sha256.push_back(static_cast<char>(std::tolower(c)));
        has_hash = true;
      } else {
        return at(k, "expected consumer: NAME and key_sha256: HEX (scalars), nothing else");
      }
    }
    if (!has_consumer || !has_hash) return at(item, "each entry needs consumer and key_sha256");
    if (!hashes.insert(e.key_sha256).second) {
      return at(item, "this key_sha256 is listed twice; a key names one consumer");
    }
    out->push_back(std::move(e));
  }
  return std::nullopt;
}

std::optional<std::string> readCredentialFile(const std::string& path, std::string* err) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *err = std::strerror(errno);
    return std::nullopt;
  }
  std::string data;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  bool failed = std::ferror(f);
  int saved = errno;  // EISDIR when the path is a directory
  std::fclose(f);
  if (failed) {
    *err = std::strerror(saved);
    return std::nullopt;
  }
  return data;
}

}  // namespace sluice::config
