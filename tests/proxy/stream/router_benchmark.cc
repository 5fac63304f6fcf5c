// Route matching with 500 routes where only the last one matches (the worst case of a scan in
// priority/file order), for each kind of condition. Built as `router_bench` (not a ctest test):
// run a release build,
//   build/tests/router_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "config/regex.h"
#include "proxy/stream/router.h"

namespace sluice::proxy {
namespace {

constexpr int kRoutes = 500;

config::Regex regex(const std::string& pattern) {
  return *config::compileRegex(pattern, nullptr);
}

config::Route route(int i) {
  config::Route r;
  r.name = "r" + std::to_string(i);
  r.upstream = "u";
  return r;
}

base::RequestHead request(std::string host, std::string target) {
  base::RequestHead h;
  h.method = "GET";
  h.host = std::move(host);
  h.target = std::move(target);
  h.headers.add("user-agent", "bench/1");
  h.headers.add("accept", "*/*");
  return h;
}

// Builds kRoutes routes with `make(route, i)` and times matching `head`, which must pick the last.
template <class Make>
void run(benchmark::State& state, Make make, const base::RequestHead& head) {
  std::vector<config::Route> routes;
  for (int i = 0; i < kRoutes; ++i) {
    routes.push_back(route(i));
    make(routes.back(), i);
  }
  Router router(routes);
  if (router.match(head) != kRoutes - 1) {
    state.SkipWithError("the request does not match the last route");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(router.match(head));
}

void ExactHostAndPrefix(benchmark::State& state) {
  run(
      state,
      [](config::Route& r, int i) {
        r.match.host = "svc" + std::to_string(i) + ".example.com";
        r.match.path_prefix = "/api/";
      },
      request("svc499.example.com", "/api/users/7?x=1"));
}

void SameHostPrefixes(benchmark::State& state) {
  run(
      state,
      [](config::Route& r, int i) {
        r.match.host = "api.example.com";
        r.match.path_prefix = "/svc" + std::to_string(i) + "/";
      },
      request("api.example.com", "/svc499/users/7?x=1"));
}

void PathRegexAnchored(benchmark::State& state) {
  run(
      state,
      [](config::Route& r, int i) {
        r.match.path_regex = regex("^/svc" + std::to_string(i) + "/users/[0-9]+$");
      },
      request("api.example.com", "/svc499/users/7?x=1"));
}

void PathRegexNoLiteralPrefix(benchmark::State& state) {
  run(
      state,
      [](config::Route& r, int i) {
        r.match.path_regex = regex("/(v1|v2)/svc" + std::to_string(i) + "/[0-9]+");
      },
      request("api.example.com", "/v2/svc499/7"));
}

void HostRegex(benchmark::State& state) {
  run(
      state,
      [](config::Route& r, int i) {
        r.match.host_regex = regex("[a-z]+\\.svc" + std::to_string(i) + "\\.example\\.com");
      },
      request("eu.svc499.example.com", "/"));
}

void HeaderRegex(benchmark::State& state) {
  base::RequestHead head = request("api.example.com", "/api/x");
  head.headers.add("x-tenant", "tenant-499");
  run(
      state,
      [](config::Route& r, int i) {
        r.match.path_prefix = "/api/";
        config::ValueMatch v;
        v.kind = config::ValueMatch::Kind::Regex;
        v.regex = regex("tenant-" + std::to_string(i));
        r.match.headers.emplace_back("x-tenant", std::move(v));
      },
      head);
}

void HeaderExact(benchmark::State& state) {
  base::RequestHead head = request("api.example.com", "/api/x");
  head.headers.add("x-tenant", "tenant-499");
  run(
      state,
      [](config::Route& r, int i) {
        r.match.path_prefix = "/api/";
        config::ValueMatch v;
        v.exact = "tenant-" + std::to_string(i);
        r.match.headers.emplace_back("x-tenant", std::move(v));
      },
      head);
}

void QueryExact(benchmark::State& state) {
  run(
      state,
      [](config::Route& r, int i) {
        r.match.path_prefix = "/api/";
        config::ValueMatch v;
        v.exact = "t" + std::to_string(i);
        r.match.query.emplace_back("tenant", std::move(v));
      },
      request("api.example.com", "/api/x?page=2&tenant=t499"));
}

BENCHMARK(ExactHostAndPrefix);
BENCHMARK(SameHostPrefixes);
BENCHMARK(PathRegexAnchored);
BENCHMARK(PathRegexNoLiteralPrefix);
BENCHMARK(HostRegex);
BENCHMARK(HeaderRegex);
BENCHMARK(HeaderExact);
BENCHMARK(QueryExact);

}  // namespace
}  // namespace sluice::proxy

BENCHMARK_MAIN();
