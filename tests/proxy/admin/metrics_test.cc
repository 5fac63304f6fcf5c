#include "proxy/admin/metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace sluice::proxy {
namespace {

// promtool from PATH (the `prometheus` package puts it in /usr/bin), or "" if absent.
std::string findPromtool() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(std::string(path ? path : "") + ":/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/promtool";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `promtool check metrics` with `text` on its stdin.
CommandResult promtoolCheck(const std::string& promtool, const std::string& text) {
  char input[] = "/tmp/sluice_metrics_XXXXXX";
  int fd = mkstemp(input);
  if (fd < 0) return {-1, "mkstemp failed"};
  close(fd);
  std::ofstream(input, std::ios::binary) << text;
  std::string cmd = "'" + promtool + "' check metrics < '" + input + "' 2>&1";
  CommandResult result;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    unlink(input);
    return {-1, "popen failed"};
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  int status = pclose(pipe);
  unlink(input);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Every family of operations.md with realistic series.
void populate(Metrics& m) {
  m.recordReload(true, 1717171717.25);
  m.recordReload(false, 1717171800.5);
  m.downstream_connections_active.with({"public"}).add(12);
  m.downstream_connections_active.with({"public_tls"}).set(3);
  m.downstream_connections_total.with({"public"}).inc(1500);
  m.downstream_connections_total.with({"public_tls"}).inc(200);
  for (const char* code : {"200", "404", "429", "502"}) {
    m.requests_total.with({"api", "GET", code}).inc(7);
  }
  m.requests_total.with({"static", "HEAD", "200"}).inc();
  m.request_duration_seconds.with({"api"}).observe(0.0123);
  m.request_duration_seconds.with({"api"}).observe(3.2);
  m.request_duration_seconds.with({"static"}).observe(0.0004);
  m.upstream_requests_total.with({"backend", "10.0.0.1:8080", "200"}).inc(40);
  m.upstream_requests_total.with({"backend", "10.0.0.2:8080", "503"}).inc(2);
  m.upstream_request_duration_seconds.with({"backend"}).observe(0.2);
  m.upstream_connect_failures_total.with({"backend", "10.0.0.2:8080"}).inc(3);
  m.upstream_retries_total.with({"backend"}).inc(2);
  m.upstream_target_healthy.with({"backend", "10.0.0.1:8080"}).set(1);
  m.upstream_target_healthy.with({"backend", "10.0.0.2:8080"}).set(0);
  m.upstream_circuit_state.with({"backend", "10.0.0.1:8080"}).set(0);
  m.upstream_circuit_state.with({"backend", "10.0.0.2:8080"}).set(2);
  m.ratelimit_decisions_total.with({"api", "per_client", "allowed"}).inc(100);
  m.ratelimit_decisions_total.with({"api", "per_client", "limited"}).inc(7);
  m.cache_requests_total.with({"static", "hit"}).inc(9);
  m.cache_requests_total.with({"static", "miss"}).inc(2);
  m.cache_requests_total.with({"static", "stale"}).inc();
  m.cache_requests_total.with({"static", "bypass"}).inc();
  // Scrape-time values, as the limiter and the cache report them.
  m.registry.addCollector([&m](base::Exposition& e) {
    e.set(m.ratelimit_keys, {"api", "per_client"}, 42);
    e.set(m.cache_bytes, {}, 1048576);
  });
}

TEST(MetricsTest, DeclaresEveryFamilyOfTheSpecInOrder) {
  Metrics m;
  std::string text = m.registry.render();
  const char* families[][2] = {
      {"sluice_build_info", "gauge"},
      {"sluice_config_reloads_total", "counter"},
      {"sluice_config_last_reload_success_timestamp_seconds", "gauge"},
      {"sluice_downstream_connections_active", "gauge"},
      {"sluice_downstream_connections_total", "counter"},
      {"sluice_requests_total", "counter"},
      {"sluice_request_duration_seconds", "histogram"},
      {"sluice_upstream_requests_total", "counter"},
      {"sluice_upstream_request_duration_seconds", "histogram"},
      {"sluice_upstream_connect_failures_total", "counter"},
      {"sluice_upstream_retries_total", "counter"},
      {"sluice_upstream_target_healthy", "gauge"},
      {"sluice_upstream_circuit_state", "gauge"},
      {"sluice_ratelimit_decisions_total", "counter"},
      {"sluice_ratelimit_keys", "gauge"},
      {"sluice_cache_requests_total", "counter"},
      {"sluice_cache_bytes", "gauge"},
  };
  size_t pos = 0;
  for (auto& [name, type] : families) {
    std::string line = std::string("# TYPE ") + name + " " + type + "\n";
    size_t at = text.find(line);
    ASSERT_NE(at, std::string::npos) << line << text;
    EXPECT_GT(at, pos) << name << " out of order";
    pos = at;
  }
  EXPECT_NE(text.find("sluice_build_info{version=\"" SLUICE_VERSION "\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_config_reloads_total{result=\"failure\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_config_reloads_total{result=\"success\"} 0\n"), std::string::npos);
}

TEST(MetricsTest, RecordReload) {
  Metrics m;
  m.recordReload(true, 100.5);
  m.recordReload(false, 200);
  EXPECT_EQ(m.config_reloads_total.with({"success"}).value(), 1u);
  EXPECT_EQ(m.config_reloads_total.with({"failure"}).value(), 1u);
  EXPECT_EQ(m.config_last_reload_success_timestamp_seconds.with({}).value(), 100.5);
}

TEST(MetricsTest, EveryUpstreamHasARetriesSampleBeforeAnyRetry) {
  Metrics m;
  config::Config c;
  c.upstreams.resize(2);
  c.upstreams[0].name = "api";
  c.upstreams[1].name = "web";
  m.declareUpstreams(c);
  std::string text = m.registry.render();
  EXPECT_NE(text.find("sluice_upstream_retries_total{upstream=\"api\"} 0\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_upstream_retries_total{upstream=\"web\"} 0\n"), std::string::npos);
  m.upstream_retries_total.with({"api"}).inc();
  m.declareUpstreams(c);  // a reload keeps the count
  EXPECT_EQ(m.upstream_retries_total.with({"api"}).value(), 1u);
}

TEST(MetricsTest, PromtoolAcceptsTheFullExposition) {
  std::string promtool = findPromtool();
  ASSERT_FALSE(promtool.empty())
      << "promtool not found on PATH or in /usr/bin; install the `prometheus` package";
  Metrics m;
  populate(m);
  std::string text = m.registry.render();
  ASSERT_NE(text.find("sluice_ratelimit_keys{route=\"api\",policy=\"per_client\"} 42\n"),
            std::string::npos);
  CommandResult r = promtoolCheck(promtool, text);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- input ---\n" << text;
  EXPECT_EQ(r.output, "") << "promtool reported lint problems\n--- input ---\n" << text;
}

TEST(MetricsTest, PromtoolCheckCanFail) {
  // Guards the test above: a broken exposition must be reported.
  std::string promtool = findPromtool();
  ASSERT_FALSE(promtool.empty()) << "promtool not found";
  CommandResult r = promtoolCheck(promtool, "# TYPE bad counter\nbad 1\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output, "");
}

}  // namespace
}  // namespace sluice::proxy
