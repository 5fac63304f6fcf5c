// sluice: command line (spec/operations.md): run, -t check, -T check and print, --version.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "config/json_dump.h"
#include "config/loader.h"
#include "proxy/server.h"

namespace {
constexpr const char* kDefaultConfig = "/etc/sluice/sluice.yaml";

void usage(FILE* out) {
  std::fprintf(out,
               "usage: sluice [-c FILE]       run in the foreground\n"
               "       sluice -t [-c FILE]    check the config, report every error\n"
               "       sluice -T [-c FILE]    check, then print the effective config (JSON)\n"
               "       sluice --version\n"
               "default FILE: %s\n",
               kDefaultConfig);
}

std::string sslReason() {
  unsigned long e = ERR_peek_last_error();
  const char* reason = ERR_reason_error_string(e);
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

// Loads a cert/key pair as a listener does (proxy/tls_context.cc), so `-t`, start and reload
// refuse the same files, each at the config line that names it. The key is read on its own
// first, so a key of another certificate is told apart from a key that cannot be read.
std::optional<sluice::config::CertificateProblem> checkCertificate(
    const sluice::config::Certificate& c) {
  std::optional<sluice::config::CertificateProblem> problem;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return problem;  // no memory now: the start itself will say so
  EVP_PKEY* key = nullptr;
  if (BIO* bio = BIO_new_file(c.key.c_str(), "r")) {
    // No passphrase prompt: an encrypted key is refused, as at start.
    key = PEM_read_bio_PrivateKey(bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
    BIO_free(bio);
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, c.cert.c_str()) != 1) {
    problem = {false, "\"" + c.cert + "\" is not a usable PEM certificate chain (" + sslReason() +
                          "); point cert: at the certificate chain file"};
  } else if (key == nullptr) {
    problem = {true, "\"" + c.key + "\" is not a usable PEM private key (" + sslReason() +
                         "); point key: at an unencrypted private key file"};
  } else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    problem = {true, "\"" + c.key + "\" does not match the certificate \"" + c.cert +
                         "\"; give the key that belongs to it"};
  }
  EVP_PKEY_free(key);
  SSL_CTX_free(ctx);
  return problem;
}

sluice::config::LoadOptions loadOptions() {
  sluice::config::LoadOptions options;
  options.check_certificate = checkCertificate;
  return options;
}

int check(const std::string& path, bool print) {
  sluice::config::LoadResult r = sluice::config::loadFile(path, loadOptions());
  for (const auto& d : r.errors) std::fprintf(stderr, "%s\n", d.text().c_str());
  if (!r.errors.empty()) {
    std::fprintf(stderr, "sluice: configuration %s has %zu error(s)\n", path.c_str(),
                 r.errors.size());
    return 1;
  }
  if (print) {
    std::printf("%s\n", sluice::config::toJson(*r.config).c_str());
  } else {
    std::fprintf(stderr, "sluice: configuration %s is valid\n", path.c_str());
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  std::string config = kDefaultConfig;
  bool test = false, dump = false, version = false, help = false;
  // Every argument is read before any is acted on: a bad one fails the whole command line,
  // whatever else is on it (operations.md: exit 1 for bad flags).
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-c") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sluice: -c needs a file, e.g. -c %s\n", kDefaultConfig);
        usage(stderr);
        return 1;
      }
      config = argv[++i];
    } else if (a == "-t") {
      test = true;
    } else if (a == "-T") {
      dump = true;
    } else if (a == "--version" || a == "-v") {
      version = true;
    } else if (a == "-h" || a == "--help") {
      help = true;
    } else {
      std::fprintf(stderr, "sluice: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return 1;
    }
  }
  if (help) {
    usage(stdout);
    return 0;
  }
  if (version) {
    std::printf("sluice %s\n", SLUICE_VERSION);
    return 0;
  }
  if (test || dump) return check(config, dump);
  std::signal(SIGPIPE, SIG_IGN);  // a peer closing mid-write is an error code, not a death
  sluice::proxy::Server server(config, loadOptions());
  return server.run();
}
