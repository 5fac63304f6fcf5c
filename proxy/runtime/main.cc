// sluice: command line (spec/operations.md): run, -t check, -T check and print, --version.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "config/json_dump.h"
#include "config/loader.h"
#include "proxy/runtime/server.h"
#include "proxy/tls/tls_context.h"

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

sluice::config::LoadOptions loadOptions() {
  sluice::config::LoadOptions options;
  options.check_certificate = sluice::proxy::checkCertificateFiles;
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
