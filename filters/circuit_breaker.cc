#include "filters/circuit_breaker.h"

#include <chrono>

namespace sluice::filters {

namespace {
int64_t monotonicMs() {
  // The same clock as uv_now(): CLOCK_MONOTONIC in milliseconds.
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class CircuitBreakerFilter final : public Filter {
 public:
  CircuitBreakerFilter(const config::CircuitBreaker& cfg,
                       const std::vector<std::shared_ptr<balancer::TargetState>>& targets)
      : cfg_(cfg), targets_(targets) {}

  FilterStatus onRequestHeaders(base::RequestHead&, FilterCallbacks& cb) override {
    if (targets_.empty()) return FilterStatus::Continue;
    int64_t now = monotonicMs();
    for (const auto& t : targets_) {
      if (t->breaker.state(now, cfg_) != balancer::CircuitState::Open)
        return FilterStatus::Continue;
    }
    base::HeaderMap extra;
    extra.add("retry-after", std::to_string((cfg_.open_for.count() + 999) / 1000));
    cb.sendError(503, "circuit open", &extra);
    return FilterStatus::Stop;
  }

 private:
  const config::CircuitBreaker& cfg_;
  const std::vector<std::shared_ptr<balancer::TargetState>>& targets_;
};

class CircuitBreakerFactory final : public FilterFactory {
 public:
  CircuitBreakerFactory(config::CircuitBreaker cfg,
                        std::vector<std::shared_ptr<balancer::TargetState>> targets)
      : cfg_(std::move(cfg)), targets_(std::move(targets)) {}
  std::unique_ptr<Filter> create() const override {
    return std::make_unique<CircuitBreakerFilter>(cfg_, targets_);
  }
  bool readsForwardedHead() const override { return false; }  // the targets' state only

 private:
  config::CircuitBreaker cfg_;
  std::vector<std::shared_ptr<balancer::TargetState>> targets_;
};
}  // namespace

std::shared_ptr<const FilterFactory> buildCircuitBreaker(const FilterBuildContext& ctx,
                                                         const config::FilterEntry&,
                                                         std::string& error) {
  const config::Upstream* u = ctx.config.findUpstream(ctx.route.upstream);
  if (u == nullptr || !u->circuit_breaker) {
    error = "the route's upstream needs a circuit_breaker: section (the filter uses its settings)";
    return nullptr;
  }
  return std::make_shared<CircuitBreakerFactory>(*u->circuit_breaker, ctx.targets);
}

}  // namespace sluice::filters
