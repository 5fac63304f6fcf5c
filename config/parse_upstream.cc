// Parser for one entry of `upstreams:`: balancing, targets, pooling, timeouts, retries, health
// checks, circuit breaking and upstream TLS (spec/config.md).
#include "config/sections.h"
#include "config/units.h"

namespace sluice::config {
namespace {

constexpr int64_t kMaxCount = 1'000'000'000;

std::optional<Target> parseTarget(Reader& r, const YAML::Node& node, const std::string& what) {
  MapReader m(r, node, what, {"address", "weight", "srv"});
  if (!m.ok()) return std::nullopt;
  Target t;
  if (m.has("srv")) {  // parse_dns.cc: SRV records give hosts, ports and weights
    if (m.has("address") || m.has("weight")) {
      r.error(m.keyNode(m.has("address") ? "address" : "weight"),
              "an srv target takes its addresses, ports and weights from the SRV records; "
              "remove address/weight or write a separate target");
      return std::nullopt;
    }
    if (!m.readString("srv", &t.srv)) return std::nullopt;
    if (!isValidSrvName(t.srv)) {
      r.error(m.get("srv"),
              "srv: \"" + t.srv + "\" is not a DNS name; write e.g. _http._tcp.api.internal");
      return std::nullopt;
    }
    return t;
  }
  if (!m.require("address", "{address: 127.0.0.1:9001, weight: 1} or {srv: _http._tcp.api}")) {
    return std::nullopt;
  }
  if (!m.readAddress("address", &t.parsed)) return std::nullopt;
  t.address = t.parsed.text();
  m.readInt("weight", &t.weight, 1, 1'000'000);
  return t;
}

UpstreamTimeouts parseTimeouts(Reader& r, const YAML::Node& node) {
  UpstreamTimeouts t;
  MapReader m(r, node, "timeouts", {"connect", "response", "idle"});
  m.readDuration("connect", &t.connect);
  m.readDuration("response", &t.response);
  m.readDuration("idle", &t.idle);
  return t;
}

// `retries.backoff: {base, max}`: both durations above 0, max at least base.
RetryBackoff parseRetryBackoff(Reader& r, const YAML::Node& node) {
  RetryBackoff b;
  MapReader m(r, node, "backoff", {"base", "max"});
  m.readDuration("base", &b.base);
  bool has_max = m.readDuration("max", &b.max);
  if (b.max < b.base) {
    r.error(m.get(has_max ? "max" : "base"),
            "backoff: max " + formatDuration(b.max) + " is below base " + formatDuration(b.base) +
                "; make max at least base, e.g. {base: 25ms, max: 250ms}");
  }
  return b;
}

Retries parseRetries(Reader& r, const YAML::Node& node) {
  Retries t;
  MapReader m(r, node, "retries",
              {"attempts", "on", "budget", "per_try_timeout", "deadline", "retry_non_idempotent",
               "backoff"});
  m.readInt("attempts", &t.attempts, 0, 10);
  if (m.readStrings("on", &t.on)) {
    for (const auto& cond : t.on) {
      if (cond == "connect_failure" || cond == "reset" || cond == "timeout") continue;
      auto status = parseStatusRange(cond);
      if (!status || status->lo != status->hi || status->lo < 400) {
        r.error(m.get("on"), "on: \"" + cond +
                                 "\" is not a retry condition; write connect_failure, reset, "
                                 "timeout or a status of 400-599 such as 503");
      }
    }
  }
  m.readPercent("budget", &t.budget);
  m.readDuration("per_try_timeout", &t.per_try_timeout);
  m.readDuration("deadline", &t.deadline);
  m.readBool("retry_non_idempotent", &t.retry_non_idempotent);
  if (m.has("backoff")) t.backoff = parseRetryBackoff(r, m.get("backoff"));
  return t;
}

HealthCheck parseHealthCheck(Reader& r, const YAML::Node& node) {
  HealthCheck h;
  MapReader m(
      r, node, "health_check",
      {"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "expect_status"});
  if (m.readString("path", &h.path) && (h.path.empty() || h.path[0] != '/')) {
    r.error(m.get("path"), "path: \"" + h.path + "\" must start with /, e.g. /healthz");
  }
  m.readDuration("interval", &h.interval);
  bool has_timeout = m.readDuration("timeout", &h.timeout);
  if (has_timeout && h.timeout > h.interval) {
    r.error(m.get("timeout"), "timeout " + formatDuration(h.timeout) +
                                  " is longer than the interval " + formatDuration(h.interval) +
                                  "; make it at most the interval");
  }
  m.readInt("healthy_threshold", &h.healthy_threshold, 1, 1000);
  m.readInt("unhealthy_threshold", &h.unhealthy_threshold, 1, 1000);
  std::vector<std::string> ranges;
  if (m.readStrings("expect_status", &ranges)) {
    h.expect_status.clear();
    for (const auto& text : ranges) {
      auto range = parseStatusRange(text);
      if (range) {
        h.expect_status.push_back(*range);
      } else {
        r.error(m.get("expect_status"), "expect_status: " + range.error());
      }
    }
    if (ranges.empty())
      r.error(m.get("expect_status"), "expect_status: list at least one, e.g. [200-399]");
  }
  return h;
}

PassiveHealth parsePassiveHealth(Reader& r, const YAML::Node& node) {
  PassiveHealth p;
  MapReader m(r, node, "passive_health",
              {"consecutive_failures", "base_ejection", "max_ejection_percent"});
  m.readInt("consecutive_failures", &p.consecutive_failures, 1, 1'000'000);
  m.readDuration("base_ejection", &p.base_ejection);
  m.readInt("max_ejection_percent", &p.max_ejection_percent, 0, 100);
  return p;
}

CircuitBreaker parseCircuitBreaker(Reader& r, const YAML::Node& node) {
  CircuitBreaker c;
  MapReader m(
      r, node, "circuit_breaker",
      {"consecutive_failures", "failure_ratio", "open_for", "half_open_requests", "max_requests"});
  m.readInt("consecutive_failures", &c.consecutive_failures, 1, 1'000'000);
  if (m.has("failure_ratio")) {
    FailureRatio f;
    MapReader fm(r, m.get("failure_ratio"), "failure_ratio", {"ratio", "window", "min_requests"});
    if (fm.readNumber("ratio", &f.ratio, 0, 1) && f.ratio == 0) {
      r.error(fm.get("ratio"), "ratio must be above 0 and at most 1, e.g. 0.5");
    }
    fm.readDuration("window", &f.window);
    fm.readInt("min_requests", &f.min_requests, 1, kMaxCount);
    c.failure_ratio = f;
  }
  m.readDuration("open_for", &c.open_for);
  m.readInt("half_open_requests", &c.half_open_requests, 1, 1'000'000);
  m.readInt("max_requests", &c.max_requests, 1, kMaxCount);
  return c;
}

UpstreamTls parseUpstreamTls(Reader& r, const YAML::Node& node) {
  UpstreamTls t;
  MapReader m(r, node, "tls", {"sni", "verify", "ca", "client_certificate"});
  if (m.readString("sni", &t.sni) && (t.sni->empty() || t.sni->find(' ') != std::string::npos)) {
    r.error(m.get("sni"), "sni: \"" + *t.sni + "\" is not a host name; write e.g. api.internal");
  }
  m.readBool("verify", &t.verify);
  m.readPath("ca", &t.ca);
  if (m.has("client_certificate")) {
    t.client_certificate = parseCertificate(r, m.get("client_certificate"), "client_certificate");
  }
  return t;
}

void parseBalancing(Reader& r, MapReader& m, Upstream& u) {
  static const std::vector<std::string_view> kBalancers = {"round_robin", "least_conn",
                                                           "random_two", "consistent_hash"};
  if (m.readString("balancer", &u.balancer)) {
    bool known = false;
    for (std::string_view name : kBalancers) known = known || u.balancer == name;
    if (!known) {
      r.error(m.get("balancer"), "balancer: \"" + u.balancer +
                                     "\" is not a balancer; write round_robin, least_conn, "
                                     "random_two or consistent_hash");
    }
  }
  // hash_key and balance_factor only matter to consistent_hash; the spec's example writes
  // them beside round_robin too, so they are not an error there.
  if (m.readString("hash_key", &u.hash_key)) {
    auto key = parseKeyExpression(u.hash_key, {"ip", "path", "uri"}, false);
    if (key) {
      u.hash_key = *key;
    } else {
      r.error(m.get("hash_key"), "hash_key: " + key.error());
    }
  }
  double factor = 0;
  if (m.readNumber("balance_factor", &factor, 1.0, 100.0)) u.balance_factor = factor;
}

}  // namespace

Upstream parseUpstream(Reader& r, const YAML::Node& node) {
  Upstream u;
  MapReader m(r, node, "upstream",
              {"name", "balancer", "hash_key", "balance_factor", "slow_start", "resolve_every",
               "targets", "keepalive", "timeouts", "retries", "health_check", "passive_health",
               "circuit_breaker", "tls", "protocol", "max_streams_per_connection", "discovery"});
  if (!m.ok()) return u;
  m.readName("name", &u.name);
  parseBalancing(r, m, u);
  m.readDuration("slow_start", &u.slow_start);
  m.readDuration("resolve_every", &u.resolve_every);
  if (m.has("discovery")) {  // parse_discovery.cc: the targets come from a registry
    if (m.has("targets")) {
      r.error(m.keyNode("targets"),
              "targets and discovery are exclusive: an upstream's targets are either listed "
              "here or read from the registry; remove one of them");
    }
    u.discovery = parseDiscovery(r, m.get("discovery"));
  } else if (m.require("targets",
                       "targets: [{address: 127.0.0.1:9001}] or discovery: {etcd: {...}}")) {
    if (auto items = r.list(m.get("targets"), "targets")) {
      if (items->empty()) r.error(m.get("targets"), "targets: list at least one target");
      for (size_t i = 0; i < items->size(); ++i) {
        auto t = parseTarget(r, (*items)[i], "targets[" + std::to_string(i) + "]");
        if (t) u.targets.push_back(std::move(*t));
      }
    }
  }
  m.readInt("keepalive", &u.keepalive, 0, 1'000'000);
  if (m.has("timeouts")) u.timeouts = parseTimeouts(r, m.get("timeouts"));
  if (m.has("retries")) u.retries = parseRetries(r, m.get("retries"));
  if (m.has("health_check")) u.health_check = parseHealthCheck(r, m.get("health_check"));
  if (m.has("passive_health")) u.passive_health = parsePassiveHealth(r, m.get("passive_health"));
  if (m.has("circuit_breaker")) {
    u.circuit_breaker = parseCircuitBreaker(r, m.get("circuit_breaker"));
  }
  if (m.has("tls")) u.tls = parseUpstreamTls(r, m.get("tls"));
  std::string protocol;
  if (m.readString("protocol", &protocol)) {
    if (protocol == "http1") {
      u.protocol = UpstreamProtocol::Http1;
    } else if (protocol == "h2") {
      u.protocol = UpstreamProtocol::H2;
      if (!u.tls) {
        r.error(m.get("protocol"),
                "protocol: h2 is HTTP/2 over TLS (ALPN); add a tls: section, or write h2c for "
                "cleartext HTTP/2");
      }
    } else if (protocol == "h2c") {
      u.protocol = UpstreamProtocol::H2c;
      if (u.tls) {
        r.error(m.get("protocol"),
                "protocol: h2c is cleartext HTTP/2; with a tls: section write h2");
      }
    } else {
      r.error(m.get("protocol"), "protocol: \"" + protocol + "\" is not one of http1, h2, h2c");
    }
  }
  m.readInt("max_streams_per_connection", &u.max_streams_per_connection, 1, 1'000'000);
  return u;
}

}  // namespace sluice::config
