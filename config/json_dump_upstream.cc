// The `upstreams` entries of the config dump (json_dump.h).
#include "config/json_dump_writer.h"

namespace sluice::config::dump {
namespace {

void writeUpstreamOptions(JsonWriter& w, const Upstream& u) {
  const Retries& r = u.retries;
  w.key("retries").beginObject();
  w.key("attempts").integer(r.attempts);
  w.key("on").strings(r.on);
  w.key("budget").string(formatPercent(r.budget));
  w.key("per_try_timeout").optDuration(r.per_try_timeout);
  w.key("deadline").optDuration(r.deadline);
  w.key("retry_non_idempotent").boolean(r.retry_non_idempotent);
  w.key("backoff");
  if (r.backoff) {
    w.beginObject();
    w.key("base").duration(r.backoff->base);
    w.key("max").duration(r.backoff->max);
    w.endObject();
  } else {
    w.null();
  }
  w.endObject();
  w.key("health_check");
  if (const auto& h = u.health_check) {
    w.beginObject();
    w.key("path").string(h->path);
    w.key("interval").duration(h->interval);
    w.key("timeout").duration(h->timeout);
    w.key("healthy_threshold").integer(h->healthy_threshold);
    w.key("unhealthy_threshold").integer(h->unhealthy_threshold);
    w.key("expect_status").beginArray();
    for (const auto& s : h->expect_status) w.string(formatStatusRange(s));
    w.endArray();
    w.endObject();
  } else {
    w.null();
  }
  w.key("passive_health");
  if (const auto& p = u.passive_health) {
    w.beginObject();
    w.key("consecutive_failures").integer(p->consecutive_failures);
    w.key("base_ejection").duration(p->base_ejection);
    w.key("max_ejection_percent").integer(p->max_ejection_percent);
    w.endObject();
  } else {
    w.null();
  }
  w.key("circuit_breaker");
  if (const auto& c = u.circuit_breaker) {
    w.beginObject();
    w.key("consecutive_failures").integer(c->consecutive_failures);
    w.key("failure_ratio");
    if (const auto& f = c->failure_ratio) {
      w.beginObject();
      w.key("ratio").number(f->ratio);
      w.key("window").duration(f->window);
      w.key("min_requests").integer(f->min_requests);
      w.endObject();
    } else {
      w.null();
    }
    w.key("open_for").duration(c->open_for);
    w.key("half_open_requests").integer(c->half_open_requests);
    w.key("max_requests").integer(c->max_requests);
    w.endObject();
  } else {
    w.null();
  }
  w.key("tls");
  if (const auto& t = u.tls) {
    w.beginObject();
    w.key("sni").optString(t->sni);
    w.key("verify").boolean(t->verify);
    w.key("ca").string(t->ca);
    w.key("client_certificate");
    t->client_certificate ? writeCertificate(w, *t->client_certificate) : w.null();
    w.endObject();
  } else {
    w.null();
  }
}

void writeTargets(JsonWriter& w, const std::vector<Target>& targets) {
  w.key("targets").beginArray();
  for (const auto& t : targets) {
    w.beginObject();
    if (!t.srv.empty()) {
      w.key("srv").string(t.srv);
    } else {
      w.key("address").string(t.address);
      w.key("weight").integer(t.weight);
    }
    w.endObject();
  }
  w.endArray();
}

void writeDiscovery(JsonWriter& w, const Discovery& d) {
  const EtcdDiscovery& e = d.etcd;
  w.key("discovery").beginObject();
  w.key("etcd").beginObject();
  w.key("endpoints").beginArray();
  for (const Address& a : e.endpoints) w.string(a.text());
  w.endArray();
  w.key("prefix").string(e.prefix);
  w.key("timeout").duration(e.timeout);
  w.key("backoff").beginObject();
  w.key("base").duration(e.backoff.base);
  w.key("max").duration(e.backoff.max);
  w.endObject();
  w.endObject();
  w.endObject();
}

}  // namespace

void writeUpstream(JsonWriter& w, const Upstream& u) {
  w.beginObject();
  w.key("name").string(u.name);
  w.key("balancer").string(u.balancer);
  // The effective key (default ip), whatever the balancer; only consistent_hash consults it.
  w.key("hash_key").string(u.hash_key);
  w.key("balance_factor");
  u.balance_factor ? w.number(*u.balance_factor) : w.null();
  w.key("slow_start").optDuration(u.slow_start);
  w.key("resolve_every").optDuration(u.resolve_every);
  // `discovery` instead of `targets` (they are exclusive), so the dump loads back.
  if (u.discovery) {
    writeDiscovery(w, *u.discovery);
  } else {
    writeTargets(w, u.targets);
  }
  w.key("keepalive").integer(u.keepalive);
  w.key("protocol")
      .string(u.protocol == UpstreamProtocol::H2    ? "h2"
              : u.protocol == UpstreamProtocol::H2c ? "h2c"
                                                    : "http1");
  w.key("max_streams_per_connection").integer(u.max_streams_per_connection);
  w.key("timeouts").beginObject();
  w.key("connect").duration(u.timeouts.connect);
  w.key("response").duration(u.timeouts.response);
  w.key("idle").duration(u.timeouts.idle);
  w.endObject();
  writeUpstreamOptions(w, u);
  w.endObject();
}

}  // namespace sluice::config::dump
