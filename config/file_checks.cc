// Whether the files a config names can be used on this machine: certificates and keys that can
// be read (and parsed, through LoadOptions::check_certificate), an access log whose directory
// exists. `sluice -t` reports them with the rest; they are Diagnostic::resource errors, so at
// start they mean "could not start" (exit 2), as operations.md says of an unreadable cert.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "config/sections.h"

namespace sluice::config {
namespace {

// The first bytes of `path` (PEM headers sit at the start; a chain or a key is small), or
// empty with `*err` set to why it cannot be read.
std::optional<std::string> readHead(const std::string& path, std::string* err) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *err = std::strerror(errno);
    return std::nullopt;
  }
  std::string data(1 << 20, '\0');
  size_t n = std::fread(data.data(), 1, data.size(), f);
  bool failed = std::ferror(f);
  int saved = errno;  // EISDIR when the path is a directory
  std::fclose(f);
  if (failed) {
    *err = std::strerror(saved);
    return std::nullopt;
  }
  data.resize(n);
  return data;
}

bool hasPemKey(const std::string& text) {
  // "-----BEGIN PRIVATE KEY-----", "... RSA PRIVATE KEY-----", "... EC PRIVATE KEY-----", ...
  for (size_t at = text.find("-----BEGIN "); at != std::string::npos;
       at = text.find("-----BEGIN ", at + 1)) {
    size_t end = text.find("-----", at + 11);
    if (end != std::string::npos && text.compare(end - 11, 11, "PRIVATE KEY") == 0) return true;
  }
  return false;
}

}  // namespace

void checkCertificateFiles(Reader& r, const YAML::Node& cert_at, const YAML::Node& key_at,
                           const Certificate& c) {
  const LoadOptions& options = r.options();
  if (!options.check_files) return;
  const std::string fix = "; check the path (relative to this file) and the file's permissions";
  std::string err;
  bool usable = true;
  if (auto text = readHead(c.cert, &err); !text) {
    r.resourceError(cert_at, "cert: cannot read \"" + c.cert + "\": " + err + fix);
    usable = false;
  } else if (text->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    r.resourceError(cert_at, "cert: \"" + c.cert +
                                 "\" holds no PEM certificate (-----BEGIN CERTIFICATE-----); "
                                 "point cert: at the certificate chain file");
    usable = false;
  }
  if (auto text = readHead(c.key, &err); !text) {
    r.resourceError(key_at, "key: cannot read \"" + c.key + "\": " + err + fix);
    usable = false;
  } else if (!hasPemKey(*text)) {
    r.resourceError(key_at, "key: \"" + c.key +
                                "\" holds no PEM private key (-----BEGIN PRIVATE KEY-----); "
                                "point key: at the certificate's private key file");
    usable = false;
  }
  if (!usable || !options.check_certificate) return;
  if (auto problem = options.check_certificate(c)) {
    if (problem->in_key) {
      r.resourceError(key_at, "key: " + problem->message);
    } else {
      r.resourceError(cert_at, "cert: " + problem->message);
    }
  }
}

void checkAccessLogPath(Reader& r, const YAML::Node& at, const std::string& path) {
  if (!r.options().check_files) return;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    r.resourceError(at, "path: the directory \"" + dir.string() +
                            "\" does not exist; create it, or write stdout, stderr, off or a "
                            "file in an existing directory");
  }
}

}  // namespace sluice::config
