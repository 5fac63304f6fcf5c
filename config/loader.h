// Turns YAML files (spec/config.md) into a validated Config, or into the full list of errors.
// Called on the main thread at start and on every reload; never on a worker's data path.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace sluice::config {

// One problem in a config file, pointing at the YAML node that caused it.
struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;
  // The text is valid but names a file this machine cannot use (an unreadable certificate, a
  // missing log directory). `-t` reports it like any error; at start, when every error is of
  // this kind, sluice "could not start" (operations.md: exit 2) rather than "bad config" (1).
  bool resource = false;
  std::string text() const;  // "file:line:column: message"
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when errors is not empty
  std::vector<Diagnostic> errors;        // every error of every file, in file order
};

// What a certificate check found wrong with a readable cert/key pair: which file, and why
// (a sentence that names the file, e.g. "\"/etc/k.pem\" does not match the certificate ...").
struct CertificateProblem {
  bool in_key = false;  // the key file; else the certificate file
  std::string message;
};
// Checks a cert/key pair as the listeners will load it. config/ has no TLS library, so the
// proxy passes one (OpenSSL); without it only the files' PEM headers are checked.
using CertificateCheck = std::function<std::optional<CertificateProblem>(const Certificate&)>;

struct LoadOptions {
  // Check the files the config names: certificates and keys readable (and usable), the access
  // log's directory present. Off only for tests whose configs name files of another machine.
  bool check_files = true;
  CertificateCheck check_certificate;
};

// Loads `path` and its includes. All errors are collected; none throws.
LoadResult loadFile(const std::string& path, const LoadOptions& options = {});

// Same, from a string (tests); `name` is used as the file in diagnostics and as the base for
// relative includes/paths (its directory).
LoadResult loadString(std::string_view yaml, const std::string& name,
                      const LoadOptions& options = {});

}  // namespace sluice::config
