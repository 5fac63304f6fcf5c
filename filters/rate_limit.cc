#include "filters/rate_limit.h"

#include <chrono>

#include "filters/base/state_store.h"
#include "filters/rate_limit_key.h"

namespace sluice::filters {

namespace {

using ratelimit::Decision;
using ratelimit::Nanos;

ratelimit::Nanos monotonicNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t ceilSeconds(Nanos n) {
  if (n <= 0) return 0;
  return static_cast<uint64_t>((n + ratelimit::kSecond - 1) / ratelimit::kSecond);
}

// Per-process state of one policy: survives reloads through the StateStore while the route,
// the policy and its settings stay the same.
struct PolicyState {
  std::shared_ptr<ratelimit::Limiter> local;
  struct DenyUntil {
    Nanos until = 0;
  };
  // Cluster scope: keys Redis refused, until when; those requests need no round-trip.
  std::unique_ptr<ratelimit::KeyTable<DenyUntil>> denied;
  base::MetricsRegistry* registry = nullptr;
  base::MetricsRegistry::CollectorId collector = 0;
  ~PolicyState() {
    if (registry != nullptr && collector != 0) registry->removeCollector(collector);
  }
};

// Eviction rank of a remembered refusal: how long it still saves Redis round-trips.
auto deniedCost(Nanos now) {
  return [now](const PolicyState::DenyUntil& d) {
    return d.until > now ? static_cast<uint64_t>(d.until - now) : uint64_t{0};
  };
}

struct Policy {
  std::string route;
  std::string name;
  std::string policy_field;  // RateLimit-Policy value
  RateLimitSpec spec;
  RateLimitKey key;
  bool headers = false;
  bool dry_run = false;
  bool cluster = false;
  std::string redis_url;
  config::RateLimitOnError on_error = config::RateLimitOnError::Local;
  std::string redis_prefix;
  std::shared_ptr<PolicyState> state;
  base::Counter* allowed = nullptr;
  base::Counter* limited = nullptr;
  RedisErrorCounters store_errors;
};

class RateLimitFilter;

// Outlives the filter while a Redis call is in flight; the filter clears `filter` when it dies.
struct Waiting {
  RateLimitFilter* filter = nullptr;
  FilterCallbacks* cb = nullptr;
};

class RateLimitFilter final : public Filter {
 public:
  explicit RateLimitFilter(const Policy& p) : p_(p) {}
  ~RateLimitFilter() override {
    if (waiting_) waiting_->filter = nullptr;
  }

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    if (decided_) return FilterStatus::Continue;  // resumed after a delay
    p_.key.evaluate(head, cb.info(), key_);
    Nanos now = monotonicNow();
    if (!p_.cluster) return apply(local(now), cb);
    if (p_.state->denied) {
      Nanos until = p_.state->denied->with(
          key_, [](PolicyState::DenyUntil& d) { return d.until; }, deniedCost(now));
      if (until > now) {
        Decision d;
        d.allowed = false;
        d.retry_after = until - now;
        d.reset = d.retry_after;
        return apply(d, cb);
      }
    }
    RedisClient& client = RedisClient::forWorker(cb.services(), p_.redis_url, p_.store_errors);
    waiting_ = std::make_shared<Waiting>(Waiting{this, &cb});
    std::weak_ptr<Waiting> weak = waiting_;
    bool sent = client.run(p_.spec.script, p_.redis_prefix + key_, p_.spec.script_args,
                           [weak](bool ok, const RedisVerdict& v) {
                             auto w = weak.lock();
                             if (!w || w->filter == nullptr) return;
                             w->filter->onVerdict(ok, v, *w->cb);
                           });
    if (!sent) {
      waiting_.reset();
      return apply(fallback(now), cb);
    }
    return FilterStatus::Stop;
  }

  bool wantsResponseHeaders() const override { return decided_ && !replied_ && p_.headers; }

  FilterStatus onResponseHeaders(base::ResponseHead& head, FilterCallbacks& cb) override {
    if (!decided_ || replied_ || !p_.headers) return FilterStatus::Continue;
    appendField(head.headers, "ratelimit-policy", p_.policy_field);
    appendField(head.headers, "ratelimit", rateLimitField(p_.name, remaining_, reset_s_));
    return FilterStatus::Continue;
  }

 private:
  static void appendField(base::HeaderMap& h, std::string_view name, const std::string& value) {
    if (const std::string* old = h.get(name)) {
      h.set(name, *old + ", " + value);
    } else {
      h.add(std::string(name), value);
    }
  }

  Decision local(Nanos now) { return p_.state->local->take(key_, now); }

  Decision fallback(Nanos now) {
    switch (p_.on_error) {
      case config::RateLimitOnError::Allow: {
        Decision d;
        d.remaining = p_.spec.quota;
        return d;
      }
      case config::RateLimitOnError::Deny: {
        Decision d;
        d.allowed = false;
        d.retry_after = ratelimit::kSecond;
        d.reset = d.retry_after;
        return d;
      }
      case config::RateLimitOnError::Local:
        break;
    }
    return local(now);
  }

  void onVerdict(bool ok, const RedisVerdict& v, FilterCallbacks& cb) {
    waiting_.reset();
    Nanos now = monotonicNow();
    Decision d;
    if (ok) {
      constexpr Nanos kMs = 1'000'000;
      d.allowed = v.allowed;
      d.remaining = v.remaining > 0 ? static_cast<uint64_t>(v.remaining) : 0;
      d.reset = v.reset_ms * kMs;
      d.retry_after = v.retry_ms * kMs;
      d.delay = v.delay_ms * kMs;
      if (!d.allowed && !p_.spec.delays && d.retry_after > 0 && p_.state->denied) {
        Nanos until = now + d.retry_after;
        p_.state->denied->with(
            key_, [until](PolicyState::DenyUntil& u) { u.until = until; }, deniedCost(now));
      }
    } else {
      d = fallback(now);
    }
    if (apply(d, cb) == FilterStatus::Continue) cb.continueRequest();
  }

  // Records the decision and acts on it: Continue, a delay (Stop, resumed by the proxy) or 429.
  FilterStatus apply(const Decision& d, FilterCallbacks& cb) {
    decided_ = true;
    remaining_ = d.remaining;
    if (d.allowed) {
      p_.allowed->inc();
      cb.setLogField(LogField::RateLimit, "allowed");
      reset_s_ = ceilSeconds(d.reset);
      if (d.delay > 0 && !p_.dry_run) {
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(std::chrono::nanoseconds(d.delay));
        cb.continueRequestAfter(ms);
        return FilterStatus::Stop;
      }
      return FilterStatus::Continue;
    }
    p_.limited->inc();
    cb.setLogField(LogField::RateLimit, "limited");
    reset_s_ = std::max<uint64_t>(1, ceilSeconds(d.retry_after));
    if (p_.dry_run) return FilterStatus::Continue;
    base::HeaderMap extra;
    extra.add("retry-after", std::to_string(reset_s_));
    extra.add("ratelimit-policy", p_.policy_field);
    extra.add("ratelimit", rateLimitField(p_.name, 0, reset_s_));
    replied_ = true;
    cb.sendLocalReply(429, "", &extra);
    return FilterStatus::Stop;
  }

  const Policy& p_;
  std::string key_;
  std::shared_ptr<Waiting> waiting_;
  bool decided_ = false;
  bool replied_ = false;
  uint64_t remaining_ = 0;
  uint64_t reset_s_ = 0;
};

class RateLimitFactory final : public FilterFactory {
 public:
  explicit RateLimitFactory(std::unique_ptr<Policy> p) : p_(std::move(p)) {}
  std::unique_ptr<Filter> create() const override { return std::make_unique<RateLimitFilter>(*p_); }
  // A limiter only decides; it reads fields only through its key (and answers 429 itself).
  bool readsForwardedHead() const override { return p_->key.readsFields(); }

 private:
  std::unique_ptr<Policy> p_;
};

std::string policyName(const FilterBuildContext& ctx, const char* type) {
  size_t same = 0;
  for (const config::FilterEntry& e : ctx.route.filters) same += e.name == type;
  if (same <= 1) return type;
  return std::string(type) + "." + std::to_string(ctx.index);
}

void appendSfString(std::string_view s, std::string& out) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

std::string rateLimitPolicyField(std::string_view policy, uint64_t quota, uint64_t window_s) {
  std::string out;
  appendSfString(policy, out);
  out += ";q=" + std::to_string(quota) + ";w=" + std::to_string(window_s);
  return out;
}

std::string rateLimitField(std::string_view policy, uint64_t remaining, uint64_t reset_s) {
  std::string out;
  appendSfString(policy, out);
  out += ";r=" + std::to_string(remaining) + ";t=" + std::to_string(reset_s);
  return out;
}

std::shared_ptr<const FilterFactory> buildRateLimit(const FilterBuildContext& ctx,
                                                    const config::RateLimitCommon& common,
                                                    RateLimitSpec spec, std::string& error) {
  auto p = std::make_unique<Policy>();
  if (!p->key.init(common.key, ctx.config.trusted_proxies, error)) return nullptr;
  p->route = ctx.route.name;
  p->name = policyName(ctx, spec.type);
  p->headers = common.headers;
  p->dry_run = common.dry_run;
  p->cluster = common.scope == config::LimitScope::Cluster && ctx.config.rate_limit_store;
  if (common.scope == config::LimitScope::Cluster && !ctx.config.rate_limit_store) {
    error = "scope: cluster needs a rate_limit_store";
    return nullptr;
  }
  if (p->cluster) {
    const config::RateLimitStore& store = *ctx.config.rate_limit_store;
    p->redis_url = store.sentinels.empty() ? store.redis : sentinelUrl(store);
    p->on_error = ctx.config.rate_limit_store->on_error;
    p->redis_prefix = "sluice:rl:" + p->route + ":" + p->name + ":";
  }
  p->policy_field = rateLimitPolicyField(p->name, spec.quota, spec.window_s);

  std::string state_key = "ratelimit\x1f" + p->route + "\x1f" + p->name + "\x1f" + spec.settings +
                          "\x1f" + common.key + "\x1f" + std::to_string(common.max_keys) +
                          (p->cluster ? "\x1f"
                                        "cluster"
                                      : "");
  uint64_t max_keys = common.max_keys;
  auto make_local = spec.make_local;
  bool cluster = p->cluster;
  base::MetricsRegistry* registry = &ctx.metrics;
  std::string route = p->route;
  std::string name = p->name;
  p->state = ctx.state.getOrCreate<PolicyState>(state_key, [&] {
    auto s = std::make_shared<PolicyState>();
    s->local = make_local(max_keys);
    if (cluster)
      s->denied = std::make_unique<ratelimit::KeyTable<PolicyState::DenyUntil>>(max_keys);
    base::GaugeFamily& keys =
        registry->gauge("sluice_ratelimit_keys",
                        "Rate-limit keys tracked now, by route and policy.", {"route", "policy"});
    base::CounterFamily& evictions =
        registry->counter("sluice_ratelimit_evictions_total",
                          "Rate-limit keys evicted to stay within max_keys, by route and policy.",
                          {"route", "policy"});
    std::weak_ptr<PolicyState> weak = s;
    s->registry = registry;
    s->collector =
        registry->addCollector([weak, &keys, &evictions, route, name](base::Exposition& e) {
          auto st = weak.lock();
          if (!st) return;
          e.set(keys, {route, name}, static_cast<double>(st->local->keys()));
          e.set(evictions, {route, name}, st->local->evictions());
        });
    return s;
  });

  base::CounterFamily& decisions = ctx.metrics.counter(
      "sluice_ratelimit_decisions_total", "Rate-limit decisions, by route, policy, result.",
      {"route", "policy", "result"});
  p->allowed = &decisions.with({p->route, p->name, "allowed"});
  p->limited = &decisions.with({p->route, p->name, "limited"});
  if (p->cluster) {
    base::CounterFamily& errors = ctx.metrics.counter(
        "sluice_ratelimit_store_errors_total",
        "Rate-limit decisions the Redis store could not make, by reason.", {"reason"});
    p->store_errors.timeout = &errors.with({"timeout"});
    p->store_errors.unavailable = &errors.with({"unavailable"});
    p->store_errors.error = &errors.with({"error"});
    if (!ctx.config.rate_limit_store->sentinels.empty()) {
      p->store_errors.failover =
          &ctx.metrics
               .counter("sluice_ratelimit_store_failovers_total",
                        "Times the rate-limit store's Sentinels moved its master to another "
                        "server and sluice followed.",
                        {})
               .with({});
    }
  }
  p->spec = std::move(spec);
  return std::make_shared<RateLimitFactory>(std::move(p));
}

}  // namespace sluice::filters
