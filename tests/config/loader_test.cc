// Tests for config/loader.h: defaults, a full config, includes across files, and that every
// error of every file is reported at once with its exact file:line:column.
#include "config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace sluice::config {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kMinimal = R"(
listeners:
  - {name: public, address: 127.0.0.1:8080}
upstreams:
  - name: api
    targets: [{address: 127.0.0.1:9001}]
routes:
  - name: all
    upstream: api
)";

std::vector<std::string> texts(const LoadResult& r) {
  std::vector<std::string> out;
  for (const auto& d : r.errors) out.push_back(d.text());
  return out;
}

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sluice-config-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& rel, const std::string& text) const {
    fs::path p = fs::path(path_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Loader, MinimalConfigGetsEveryDefault) {
  auto r = loadString(kMinimal, "sluice.yaml");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
  const Config& c = *r.config;
  EXPECT_EQ(c.workers, 1u);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address.host, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].address.port, 8080);
  EXPECT_FALSE(c.listeners[0].proxy_protocol);
  EXPECT_TRUE(c.listeners[0].defer_accept);
  EXPECT_FALSE(c.admin.address);
  EXPECT_EQ(c.limits.max_connections, 10000u);
  EXPECT_EQ(c.limits.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.limits.max_body_bytes, 10u * 1024 * 1024);
  EXPECT_EQ(c.limits.header_timeout, Duration{10'000});
  EXPECT_EQ(c.access_log.path, "stdout");
  EXPECT_EQ(c.access_log.format, AccessLogFormat::Json);
  ASSERT_EQ(c.upstreams.size(), 1u);
  const Upstream& u = c.upstreams[0];
  EXPECT_EQ(u.balancer, "round_robin");
  EXPECT_EQ(u.targets[0].weight, 1u);
  EXPECT_EQ(u.keepalive, 64u);
  EXPECT_EQ(u.timeouts.connect, Duration{2'000});
  EXPECT_EQ(u.retries.attempts, 1u);
  EXPECT_FALSE(u.health_check);
  EXPECT_EQ(c.routes[0].upstream, "api");
  EXPECT_EQ(c.findUpstream("api"), &u);
  EXPECT_EQ(c.findUpstream("nope"), nullptr);
  EXPECT_THAT(c.files, ElementsAre("sluice.yaml"));
  EXPECT_EQ(c.source_path, "sluice.yaml");
}

TEST(Loader, WorkersAutoIsTheCpuCount) {
  auto r = loadString(std::string("workers: auto\n") + kMinimal, "s.yaml");
  ASSERT_TRUE(r.config);
  unsigned cpus = std::thread::hardware_concurrency();
  EXPECT_EQ(r.config->workers, cpus == 0 ? 1 : cpus);
  r = loadString(std::string("workers: 3\n") + kMinimal, "s.yaml");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->workers, 3u);
}

// The spec's example without the features that are not built yet.
constexpr const char* kFull = R"(workers: 4
listeners:
  - name: public
    address: 0.0.0.0:8080
    proxy_protocol: false
    defer_accept: false
  - {name: v6, address: "[::1]:8081"}
admin:
  address: 127.0.0.1:9901
limits:
  max_connections: 20000
  max_header_bytes: 64KiB
  max_headers: 50
  max_body_bytes: 1MiB
  header_timeout: 5s
  idle_timeout: 2m
  drain_timeout: 250ms
trusted_proxies: [127.0.0.1/32, "10.0.0.0/8", "::1"]
access_log:
  path: logs/access.log
  format: combined
upstreams:
  - name: api
    balancer: round_robin
    targets:
      - {address: 127.0.0.1:9001, weight: 1}
      - {address: api-2.internal:9001, weight: 3}
    keepalive: 16
    timeouts: {connect: 1s, response: 30s, idle: 1h}
    retries: {attempts: 0, on: [reset, 503], budget: 10%}
routes:
  - name: api-v1
    match:
      host: API.example.com
      path_prefix: /v1/
      methods: [get, POST]
      headers: {X-Env: prod}
    upstream: api
    rewrite: {strip_prefix: /v1, host: api.internal}
    request_headers: {set: {X-Gateway: sluice}, remove: [X-Debug]}
    response_headers: {set: {x-frame-options: DENY}}
  - name: maintenance
    match: {path: /status}
    respond: {status: 200, body: "ok\n", headers: {Content-Type: text/plain}}
)";

TEST(Loader, FullExampleLoads) {
  // /etc/sluice/logs does not exist here: the access log's directory is not checked.
  auto r = loadString(kFull, "/etc/sluice/sluice.yaml", LoadOptions{false, nullptr});
  ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
  const Config& c = *r.config;
  EXPECT_EQ(c.workers, 4u);
  EXPECT_FALSE(c.listeners[0].defer_accept);
  EXPECT_EQ(c.listeners[1].address.host, "::1");
  EXPECT_TRUE(c.listeners[1].defer_accept);
  EXPECT_EQ(c.admin.address->text(), "127.0.0.1:9901");
  EXPECT_EQ(c.limits.max_header_bytes, 64u * 1024);
  EXPECT_EQ(c.limits.idle_timeout, Duration{120'000});
  EXPECT_EQ(c.limits.drain_timeout, Duration{250});
  ASSERT_EQ(c.trusted_proxies.size(), 3u);
  EXPECT_EQ(c.trusted_proxies[1].text, "10.0.0.0/8");
  EXPECT_EQ(c.access_log.path, "/etc/sluice/logs/access.log");  // relative to the file
  EXPECT_EQ(c.access_log.format, AccessLogFormat::Combined);
  const Upstream& u = c.upstreams[0];
  EXPECT_EQ(u.targets[1].address, "api-2.internal:9001");
  EXPECT_EQ(u.targets[1].weight, 3u);
  EXPECT_EQ(u.timeouts.idle, Duration{3'600'000});
  EXPECT_DOUBLE_EQ(u.retries.budget, 0.1);
  EXPECT_THAT(u.retries.on, ElementsAre("reset", "503"));
  const Route& api = c.routes[0];
  EXPECT_EQ(*api.match.host, "api.example.com");
  EXPECT_THAT(api.match.methods, ElementsAre("GET", "POST"));
  EXPECT_EQ(api.match.headers[0].first, "x-env");
  EXPECT_EQ(*api.rewrite.strip_prefix, "/v1");
  EXPECT_EQ(api.request_headers.set[0].first, "x-gateway");
  EXPECT_THAT(api.request_headers.remove, ElementsAre("x-debug"));
  const Route& m = c.routes[1];
  EXPECT_TRUE(m.upstream.empty());
  EXPECT_EQ(m.respond->body, "ok\n");
  EXPECT_EQ(m.respond->headers[0].first, "content-type");
}

TEST(Loader, ReportsEveryErrorWithFileLineColumn) {
  auto r = loadString(R"(workers: 0
listeners:
  - name: public
    adress: 0.0.0.0:8080
  - {name: public, address: "0.0.0.0:70000"}
limits: {header_timeout: 10x, max_body_bytes: 10MB}
routes:
  - {name: r, upstream: nope}
)",
                      "dir/main.yaml");
  EXPECT_FALSE(r.config);
  EXPECT_THAT(
      texts(r),
      ElementsAre(
          "dir/main.yaml:1:10: workers must be between 1 and 1024, got 0",
          "dir/main.yaml:3:5: listener needs \"address\"; write e.g. address: 0.0.0.0:8080",
          "dir/main.yaml:4:5: unknown key \"adress\" in listener; expected one of: name, address, "
          "proxy_protocol, defer_accept, tls, http2",
          "dir/main.yaml:5:12: duplicate listener name \"public\"; the first is at "
          "dir/main.yaml:3; give each listener its own name",
          "dir/main.yaml:5:29: address: \"0.0.0.0:70000\": port 70000 is out of range; use "
          "1-65535",
          "dir/main.yaml:6:26: header_timeout: \"10x\" is not a duration; write e.g. 250ms, 10s, "
          "5m, 1h",
          "dir/main.yaml:6:47: max_body_bytes: \"10MB\" is not a size; write bytes or a binary "
          "unit, e.g. 512, 64KiB, 10MiB, 1GiB",
          "dir/main.yaml:8:25: upstream \"nope\" is not defined; add it under upstreams:"));
}

TEST(Loader, MissingMainFileIsOneDiagnosticAtLineZero) {
  auto r = loadFile("/nonexistent/sluice.yaml");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_EQ(r.errors[0].column, 0);
  EXPECT_EQ(r.errors[0].text(),
            "/nonexistent/sluice.yaml: cannot read the config file: No such file or directory");
}

TEST(Loader, YamlSyntaxErrorHasItsPosition) {
  auto r = loadString("listeners:\n  - {name: a, address: [1, 2\n", "s.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].text(), HasSubstr("s.yaml:3:1: YAML syntax error: "));
}

TEST(Includes, GlobsMergeInLexicalOrderAndNest) {
  TempDir dir;
  std::string main = dir.write("sluice.yaml", std::string("include: [conf.d/*.yaml]\n") + kMinimal);
  dir.write("conf.d/b.yaml", "routes: [{name: b, upstream: web}]\n");
  dir.write("conf.d/a.yaml",
            "include: more/*.yaml\nupstreams: [{name: web, targets: [{address: "
            "\"127.0.0.1:9002\"}]}]\nroutes: [{name: a, upstream: web}]\n"
            "access_log: {path: a.log}\n");
  dir.write("conf.d/more/c.yaml", "routes: [{name: c, respond: {status: 204}}]\n");
  dir.write("conf.d/ignored.yml", "this: is not included\n");
  auto r = loadFile(main);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
  const Config& c = *r.config;
  std::vector<std::string> names;
  for (const auto& route : c.routes) names.push_back(route.name);
  EXPECT_THAT(names, ElementsAre("all", "a", "c", "b"));
  EXPECT_EQ(c.upstreams.size(), 2u);
  EXPECT_THAT(c.files,
              ElementsAre(main, dir.path() + "/conf.d/a.yaml", dir.path() + "/conf.d/more/c.yaml",
                          dir.path() + "/conf.d/b.yaml"));
  EXPECT_EQ(c.access_log.path, dir.path() + "/conf.d/a.log");  // relative to conf.d/a.yaml
}

TEST(Includes, CyclesAndSelfMatchesAreReadOnce) {
  TempDir dir;
  std::string main = dir.write("a.yaml", std::string("include: \"*.yaml\"\n") + kMinimal);
  dir.write("b.yaml", "include: a.yaml\nroutes: [{name: b, upstream: api}]\n");
  auto r = loadFile(main);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
  EXPECT_EQ(r.config->files.size(), 2u);
  EXPECT_EQ(r.config->routes.size(), 2u);
}

TEST(Includes, DuplicatesAcrossFilesPointAtTheFirst) {
  TempDir dir;
  std::string main = dir.write(
      "main.yaml", std::string("include: conf.d/*.yaml\nlimits: {max_headers: 10}\n") + kMinimal);
  dir.write("conf.d/x.yaml",
            "limits: {max_headers: 20}\n"
            "upstreams:\n  - name: api\n    targets: [{address: \"10.0.0.1:80\"}]\n"
            "listeners: [{name: other, address: \"127.0.0.1:8080\"}]\n");
  auto r = loadFile(main);
  EXPECT_FALSE(r.config);
  const std::string x = dir.path() + "/conf.d/x.yaml";
  EXPECT_THAT(texts(r),
              ElementsAre(x + ":1:1: \"limits\" is already set in " + main +
                              ":2; set each section in one file only",
                          x + ":3:11: duplicate upstream name \"api\"; the first is at " + main +
                              ":7; give each upstream its own name",
                          x + ":5:36: address 127.0.0.1:8080 is already used by the listener at " +
                              main + ":5; give each listener its own address"));
}

TEST(Includes, ErrorsInIncludedFilesNameThatFile) {
  TempDir dir;
  std::string main =
      dir.write("main.yaml", std::string("include: [conf.d/*.yaml, missing.yaml]\n") + kMinimal);
  dir.write("conf.d/bad.yaml", "routes:\n  - name: x\n    upstream: api\n    timeout: 5s\n");
  auto r = loadFile(main);
  EXPECT_THAT(texts(r),
              ElementsAre(main + ":1:26: cannot read included file \"" + dir.path() +
                              "/missing.yaml\": No such file or directory",
                          dir.path() + "/conf.d/bad.yaml:4:5: unknown key \"timeout\" in route; "
                                       "expected one of: name, priority, match, upstream, "
                                       "upstreams, sticky, respond, redirect, mirror, rewrite, "
                                       "request_headers, response_headers, filters"));
}

TEST(Includes, UpstreamMayBeDefinedInALaterFile) {
  TempDir dir;
  std::string main =
      dir.write("main.yaml",
                "include: up.yaml\nlisteners: [{name: l, address: \"127.0.0.1:1\"}]\n"
                "routes: [{name: r, upstream: late}]\n");
  dir.write("up.yaml", "upstreams: [{name: late, targets: [{address: \"127.0.0.1:2\"}]}]\n");
  auto r = loadFile(main);
  EXPECT_TRUE(r.config) << ::testing::PrintToString(texts(r));
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

constexpr const char* kTlsListener = R"(listeners:
  - name: tls
    address: 127.0.0.1:8443
    tls: {certificates: [{cert: a.crt, key: a.key}]}
upstreams: [{name: api, targets: [{address: 127.0.0.1:9001}]}]
routes: [{name: all, upstream: api}]
)";

TEST(FileChecks, UnusableFilesAreResourceErrorsAtTheirEntry) {
  TempDir dir;
  std::string main = dir.write("sluice.yaml", std::string(kTlsListener) + "workers: 0\n");
  auto r = loadFile(main);
  ASSERT_EQ(r.errors.size(), 3u) << ::testing::PrintToString(texts(r));
  EXPECT_THAT(r.errors[0].text(), HasSubstr("sluice.yaml:4:33: cert: cannot read"));
  EXPECT_TRUE(r.errors[0].resource);
  EXPECT_THAT(r.errors[1].text(), HasSubstr("sluice.yaml:4:45: key: cannot read"));
  EXPECT_TRUE(r.errors[1].resource);
  EXPECT_THAT(r.errors[2].text(), HasSubstr("sluice.yaml:7:10: workers must be"));
  EXPECT_FALSE(r.errors[2].resource) << "a bad value is a config error, not a resource one";
  LoadOptions off;
  off.check_files = false;
  EXPECT_EQ(loadFile(main, off).errors.size(), 1u);
}

TEST(FileChecks, TheCertificateCheckSeesReadablePemFilesAndNamesTheFile) {
  TempDir dir;
  std::string main = dir.write("sluice.yaml", kTlsListener);
  dir.write("a.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  dir.write("a.key", "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n");
  std::vector<Certificate> seen;
  LoadOptions options;
  options.check_certificate = [&](const Certificate& c) -> std::optional<CertificateProblem> {
    seen.push_back(c);
    return CertificateProblem{true, "\"" + c.key + "\" does not match"};
  };
  auto r = loadFile(main, options);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].cert, dir.path() + "/a.crt");
  EXPECT_EQ(seen[0].key, dir.path() + "/a.key");
  EXPECT_THAT(texts(r),
              ElementsAre(main + ":4:45: key: \"" + dir.path() + "/a.key\" does not match"));
  EXPECT_TRUE(r.errors[0].resource);
  options.check_certificate = [](const Certificate&) {
    return std::optional<CertificateProblem>();
  };
  EXPECT_TRUE(loadFile(main, options).config);
}

TEST(FileChecks, AccessLogDirectoryMustExist) {
  TempDir dir;
  std::string main =
      dir.write("sluice.yaml", std::string(kMinimal) + "access_log: {path: logs/access.log}\n");
  auto r = loadFile(main);
  EXPECT_THAT(texts(r), ElementsAre(main + ":10:20: path: the directory \"" + dir.path() +
                                    "/logs\" does not exist; create it, or write stdout, stderr, "
                                    "off or a file in an existing directory"));
  dir.write("logs/other", "");
  EXPECT_TRUE(loadFile(main).config) << "the directory exists now; the file need not";
}

}  // namespace
}  // namespace sluice::config
