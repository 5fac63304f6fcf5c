// One pick over 1000 targets (and 10 / 64 for comparison) for every algorithm, with realistic
// shared state: every target has a TargetState with an active count, weights vary, the hash
// varies per pick. Built as `balancer_bench` (not a ctest test): run a release build,
//   build/tests/balancer_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "balancer/hash.h"
#include "balancer/registry.h"
#include "balancer/target_state.h"

namespace sluice::balancer {
namespace {

struct Fixture {
  explicit Fixture(size_t n) : upstream(std::make_shared<UpstreamState>()) {
    SplitMix64 rng(1);
    for (size_t i = 0; i < n; ++i) {
      states.push_back(std::make_unique<TargetState>(upstream, TargetState::kReadyLongAgo));
      for (uint64_t k = rng.next() % 8; k > 0; --k) states.back()->onRequestStart();
      targets.push_back(TargetWeight{static_cast<uint32_t>(100 * (1 + i % 3)), states.back().get(),
                                     hashKey("10.1." + std::to_string(i) + ":80")});
    }
  }
  std::shared_ptr<UpstreamState> upstream;
  std::vector<std::unique_ptr<TargetState>> states;
  std::vector<TargetWeight> targets;
};

void pick(benchmark::State& state, const char* name, bool bounded) {
  Fixture f(static_cast<size_t>(state.range(0)));
  BalancerOptions options;
  if (bounded) options.balance_factor = 1.25;
  std::unique_ptr<Balancer> b = makeBalancer(name, f.targets, options);
  uint64_t h = 0;
  for (auto _ : state) {
    h += 0x9E3779B97F4A7C15ull;
    benchmark::DoNotOptimize(b->pick(PickRequest{.hash = mix64(h)}));
  }
}

void build(benchmark::State& state, const char* name) {
  Fixture f(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(makeBalancer(name, f.targets));
}

BENCHMARK_CAPTURE(pick, round_robin, "round_robin", false)->Arg(10)->Arg(32)->Arg(64)->Arg(1000);
BENCHMARK_CAPTURE(pick, least_conn, "least_conn", false)->Arg(10)->Arg(32)->Arg(64)->Arg(1000);
BENCHMARK_CAPTURE(pick, random_two, "random_two", false)->Arg(10)->Arg(32)->Arg(64)->Arg(1000);
BENCHMARK_CAPTURE(pick, consistent_hash, "consistent_hash", false)
    ->Arg(10)
    ->Arg(32)
    ->Arg(64)
    ->Arg(1000);
BENCHMARK_CAPTURE(pick, consistent_hash_bounded, "consistent_hash", true)
    ->Arg(10)
    ->Arg(32)
    ->Arg(64)
    ->Arg(1000);
BENCHMARK_CAPTURE(build, round_robin, "round_robin")->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(build, least_conn, "least_conn")->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(build, random_two, "random_two")->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(build, consistent_hash, "consistent_hash")
    ->Arg(10)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sluice::balancer

BENCHMARK_MAIN();
