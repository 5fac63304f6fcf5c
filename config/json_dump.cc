// The effective config as JSON (json_dump.h). The output is itself a valid sluice config (JSON is
// YAML), which the tests use for a round trip; absent optional sections are written as null.
#include "config/json_dump.h"

#include <charconv>
#include <cstdio>
#include <vector>

#include "config/units.h"

namespace sluice::config {
namespace {

// A minimal streaming writer: tracks whether a comma is due at each nesting level.
class JsonWriter {
 public:
  std::string take() { return std::move(out_); }

  JsonWriter& key(std::string_view k) {
    comma();
    out_ += jsonQuote(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  void beginObject() { open('{'); }
  void endObject() { close('}'); }
  void beginArray() { open('['); }
  void endArray() { close(']'); }
  void string(std::string_view s) { raw(jsonQuote(s)); }
  void boolean(bool b) { raw(b ? "true" : "false"); }
  void null() { raw("null"); }
  void integer(uint64_t v) { raw(std::to_string(v)); }
  void number(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    raw(ec == std::errc() ? std::string(buf, end) : std::string("0"));
  }
  void optString(const std::optional<std::string>& s) { s ? string(*s) : null(); }
  void duration(Duration d) { string(formatDuration(d)); }
  void optDuration(const std::optional<Duration>& d) { d ? duration(*d) : null(); }
  void strings(const std::vector<std::string>& items) {
    beginArray();
    for (const auto& s : items) string(s);
    endArray();
  }
  void headerMap(const std::vector<std::pair<std::string, std::string>>& headers) {
    beginObject();
    for (const auto& [name, value] : headers) key(name).string(value);
    endObject();
  }

 private:
  void comma() {
    if (!first_.empty() && !first_.back()) out_ += ',';
    if (!first_.empty()) first_.back() = false;
  }
  void raw(std::string_view text) {
    if (!after_key_) comma();
    after_key_ = false;
    out_ += text;
  }
  void open(char c) {
    raw(std::string_view(&c, 1));
    first_.push_back(true);
  }
  void close(char c) {
    first_.pop_back();
    out_ += c;
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

void writeCertificate(JsonWriter& w, const Certificate& c) {
  w.beginObject();
  w.key("cert").string(c.cert);
  w.key("key").string(c.key);
  w.endObject();
}

void writeListener(JsonWriter& w, const Listener& l) {
  w.beginObject();
  w.key("name").string(l.name);
  w.key("address").string(l.address.text());
  w.key("proxy_protocol").boolean(l.proxy_protocol);
  w.key("tls");
  if (!l.tls) {
    w.null();
  } else {
    w.beginObject();
    w.key("certificates").beginArray();
    for (const auto& c : l.tls->certificates) writeCertificate(w, c);
    w.endArray();
    w.key("min_version").string(l.tls->min_version);
    w.key("alpn").strings(l.tls->alpn);
    w.key("client_ca").optString(l.tls->client_ca);
    w.endObject();
  }
  w.key("http2").beginObject();
  w.key("max_concurrent_streams").integer(l.http2.max_concurrent_streams);
  w.key("initial_stream_window").integer(l.http2.initial_stream_window);
  w.key("initial_connection_window").integer(l.http2.initial_connection_window);
  w.key("max_frame_size").integer(l.http2.max_frame_size);
  w.key("max_header_list_size").integer(l.http2.max_header_list_size);
  w.key("h2c").boolean(l.http2.h2c);
  w.endObject();
  w.endObject();
}

void writeLimits(JsonWriter& w, const Limits& l) {
  w.beginObject();
  w.key("max_connections").integer(l.max_connections);
  w.key("max_header_bytes").integer(l.max_header_bytes);
  w.key("max_headers").integer(l.max_headers);
  w.key("max_body_bytes").integer(l.max_body_bytes);
  w.key("header_timeout").duration(l.header_timeout);
  w.key("idle_timeout").duration(l.idle_timeout);
  w.key("drain_timeout").duration(l.drain_timeout);
  w.key("send_timeout").duration(l.send_timeout);
  w.endObject();
}

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

void writeLimitCommon(JsonWriter& w, const RateLimitCommon& c) {
  w.key("key").string(c.key);
  w.key("max_keys").integer(c.max_keys);
  w.key("headers").boolean(c.headers);
  w.key("dry_run").boolean(c.dry_run);
  w.key("scope").string(c.scope == LimitScope::Cluster ? "cluster" : "local");
}

void writeFilterSpec(JsonWriter& w, const FilterSpec& spec) {
  w.beginObject();
  if (auto* f = std::get_if<TokenBucketFilter>(&spec)) {
    w.key("rate").string(formatRate(f->rate));
    w.key("burst").integer(f->burst);
    writeLimitCommon(w, f->common);
  } else if (auto* f = std::get_if<LeakyBucketFilter>(&spec)) {
    w.key("rate").string(formatRate(f->rate));
    w.key("burst").integer(f->burst);
    writeLimitCommon(w, f->common);
  } else if (auto* f = std::get_if<SlidingWindowFilter>(&spec)) {
    w.key("limit").integer(f->limit);
    w.key("window").duration(f->window);
    w.key("precision").string(f->approximate ? "approximate" : "exact");
    writeLimitCommon(w, f->common);
  } else if (auto* f = std::get_if<FixedWindowFilter>(&spec)) {
    w.key("limit").integer(f->limit);
    w.key("window").duration(f->window);
    writeLimitCommon(w, f->common);
  } else if (auto* f = std::get_if<CacheFilter>(&spec)) {
    static const char* kCdn[] = {"use", "use_and_remove", "ignore"};
    if (f->ttl) w.key("ttl").duration(*f->ttl);
    w.key("max_bytes").integer(f->max_bytes);
    w.key("stale_while_revalidate").duration(f->stale_while_revalidate);
    w.key("stale_if_error").duration(f->stale_if_error);
    if (f->negative_ttl) w.key("negative_ttl").duration(*f->negative_ttl);
    w.key("ttl_jitter").string(formatPercent(f->ttl_jitter));
    w.key("heuristic_fraction").string(formatPercent(f->heuristic_fraction));
    w.key("heuristic_max").duration(f->heuristic_max);
    w.key("cdn_cache_control").string(kCdn[static_cast<int>(f->cdn_cache_control)]);
  } else if (auto* f = std::get_if<GzipFilter>(&spec)) {
    w.key("min_bytes").integer(f->min_bytes);
    w.key("level").integer(static_cast<uint64_t>(f->level));
    w.key("types").strings(f->types);
    w.key("encodings").strings(f->encodings);
  } else if (auto* f = std::get_if<MaxBodyFilter>(&spec)) {
    w.key("bytes").integer(f->bytes);
  } else if (auto* f = std::get_if<IpFilter>(&spec)) {
    std::vector<std::string> allow, deny;
    for (const Cidr& c : f->allow) allow.push_back(c.text);
    for (const Cidr& c : f->deny) deny.push_back(c.text);
    w.key("allow").strings(allow);
    w.key("deny").strings(deny);
  } else if (auto* f = std::get_if<CorsFilter>(&spec)) {
    w.key("origins").strings(f->origins);
    w.key("methods").strings(f->methods);
    w.key("headers").strings(f->headers);
    w.key("expose_headers").strings(f->expose_headers);
    w.key("credentials").boolean(f->credentials);
    if (f->max_age) w.key("max_age").duration(*f->max_age);
  } else if (auto* f = std::get_if<BasicAuthFilter>(&spec)) {
    // The file's path and size only: never a user's hash.
    w.key("realm").string(f->realm);
    w.key("users_file").string(f->users_file);
    w.key("users").integer(f->users.size());
  } else if (auto* f = std::get_if<ApiKeyFilter>(&spec)) {
    w.key("from").string((f->from_query ? "query:" : "header:") + f->name);
    w.key("keys_file").string(f->keys_file);
    w.key("keys").integer(f->keys.size());
  }
  w.endObject();
}

void writeHeaderRewrite(JsonWriter& w, const HeaderRewrite& h) {
  w.beginObject();
  w.key("set").headerMap(h.set);
  w.key("remove").strings(h.remove);
  w.endObject();
}

// A weighted split (`upstreams`, `sticky`) and a `redirect`, each null when the route has none
// (so that the dump loads again).
void writeRouteTarget(JsonWriter& w, const Route& r) {
  w.key("upstreams");
  if (!r.upstreams.empty()) {
    w.beginArray();
    for (const auto& side : r.upstreams) {
      w.beginObject();
      w.key("name").string(side.name);
      w.key("weight").integer(side.weight);
      w.endObject();
    }
    w.endArray();
  } else {
    w.null();
  }
  w.key("sticky");
  if (r.sticky_key) {
    w.beginObject();
    w.key("key").string(*r.sticky_key);
    w.endObject();
  } else {
    w.null();
  }
  w.key("redirect");
  if (r.redirect) {
    w.beginObject();
    w.key("scheme").optString(r.redirect->scheme);
    w.key("host").optString(r.redirect->host);
    w.key("to").optString(r.redirect->to);
    w.key("status").integer(static_cast<uint64_t>(r.redirect->status));
    w.endObject();
  } else {
    w.null();
  }
}

// Header or query conditions of a match: an exact value as a string, else {regex} / {present}.
void writeConditions(JsonWriter& w, const std::vector<std::pair<std::string, ValueMatch>>& c) {
  w.beginObject();
  for (const auto& [name, v] : c) {
    w.key(name);
    if (v.kind == ValueMatch::Kind::Exact) {
      w.string(v.exact);
      continue;
    }
    w.beginObject();
    if (v.kind == ValueMatch::Kind::Regex) {
      w.key("regex").string(v.regex->pattern);
    } else {
      w.key("present").boolean(v.kind == ValueMatch::Kind::Present);
    }
    w.endObject();
  }
  w.endObject();
}

void writeRoute(JsonWriter& w, const Route& r) {
  w.beginObject();
  w.key("name").string(r.name);
  w.key("priority").number(r.priority);
  w.key("match").beginObject();
  if (r.match.host_regex) {
    w.key("host").beginObject();
    w.key("regex").string(r.match.host_regex->pattern);
    w.endObject();
  } else {
    w.key("host").optString(r.match.host);
  }
  w.key("path_prefix").optString(r.match.path_prefix);
  w.key("path").optString(r.match.path);
  w.key("path_regex");
  r.match.path_regex ? w.string(r.match.path_regex->pattern) : w.null();
  w.key("methods").strings(r.match.methods);
  w.key("headers");
  writeConditions(w, r.match.headers);
  w.key("query");
  writeConditions(w, r.match.query);
  w.endObject();
  w.key("upstream");
  r.upstream.empty() ? w.null() : w.string(r.upstream);
  w.key("respond");
  if (r.respond) {
    w.beginObject();
    w.key("status").integer(static_cast<uint64_t>(r.respond->status));
    w.key("body").string(r.respond->body);
    w.key("headers").headerMap(r.respond->headers);
    w.endObject();
  } else {
    w.null();
  }
  writeRouteTarget(w, r);
  w.key("rewrite").beginObject();
  w.key("strip_prefix").optString(r.rewrite.strip_prefix);
  w.key("host").optString(r.rewrite.host);
  w.key("path_regex");
  if (r.rewrite.path_regex) {
    w.beginObject();
    w.key("pattern").string(r.rewrite.path_regex->pattern);
    w.key("replace").string(r.rewrite.path_regex_replace);
    w.endObject();
  } else {
    w.null();
  }
  w.endObject();
  w.key("request_headers");
  writeHeaderRewrite(w, r.request_headers);
  w.key("response_headers");
  writeHeaderRewrite(w, r.response_headers);
  w.key("mirror");
  if (r.mirror) {
    w.beginObject();
    w.key("upstream").string(r.mirror->upstream);
    w.key("percent").number(r.mirror->percent);
    w.key("compare").boolean(r.mirror->compare);
    w.key("max_in_flight").integer(r.mirror->max_in_flight);
    w.endObject();
  } else {
    w.null();
  }
  w.key("filters").beginArray();
  for (const auto& f : r.filters) {
    w.beginObject();
    w.key(f.name);
    writeFilterSpec(w, f.spec);
    w.endObject();
  }
  w.endArray();
  w.endObject();
}

}  // namespace

std::string jsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;  // UTF-8 passes through unchanged
        }
    }
  }
  out += '"';
  return out;
}

std::string toJson(const Config& c) {
  JsonWriter w;
  w.beginObject();
  w.key("workers").integer(c.workers);
  w.key("io").string(c.io == IoMode::Uring ? "uring" : c.io == IoMode::Epoll ? "epoll" : "auto");
  w.key("listeners").beginArray();
  for (const auto& l : c.listeners) writeListener(w, l);
  w.endArray();
  w.key("admin").beginObject();
  w.key("address");
  c.admin.address ? w.string(c.admin.address->text()) : w.null();
  w.endObject();
  w.key("limits");
  writeLimits(w, c.limits);
  w.key("trusted_proxies").beginArray();
  for (const auto& p : c.trusted_proxies) w.string(p.text);
  w.endArray();
  w.key("access_log").beginObject();
  w.key("path").string(c.access_log.path);
  w.key("format").string(c.access_log.format == AccessLogFormat::Template
                             ? c.access_log.line_template
                         : c.access_log.format == AccessLogFormat::Combined ? "combined"
                                                                            : "json");
  w.endObject();
  w.key("tracing");
  if (c.tracing) {
    w.beginObject();
    w.key("service_name").string(c.tracing->service_name);
    w.key("sample").string(formatPercent(c.tracing->sample));
    w.key("otlp");
    if (c.tracing->otlp) {
      w.beginObject();
      w.key("endpoint").string(c.tracing->otlp->endpoint);
      w.key("timeout").duration(c.tracing->otlp->timeout);
      w.key("max_queue").integer(c.tracing->otlp->max_queue);
      w.endObject();
    } else {
      w.null();
    }
    w.endObject();
  } else {
    w.null();
  }
  w.key("upstreams").beginArray();
  for (const auto& u : c.upstreams) writeUpstream(w, u);
  w.endArray();
  w.key("rate_limit_store");
  if (c.rate_limit_store) {
    static const char* kOnError[] = {"local", "allow", "deny"};
    w.beginObject();
    if (c.rate_limit_store->sentinels.empty()) {
      w.key("redis").string(c.rate_limit_store->redis);
    } else {
      w.key("sentinels").beginArray();
      for (const Address& a : c.rate_limit_store->sentinels) w.string(a.text());
      w.endArray();
      w.key("master").string(c.rate_limit_store->master);
      w.key("db").integer(static_cast<uint64_t>(c.rate_limit_store->db));
    }
    w.key("on_error").string(kOnError[static_cast<int>(c.rate_limit_store->on_error)]);
    w.endObject();
  } else {
    w.null();
  }
  if (c.cache_sync) {
    w.key("cache_sync").beginObject();
    if (c.cache_sync->use_rate_limit_store) {
      w.key("use_rate_limit_store").boolean(true);
    } else {
      w.key("redis").string(c.cache_sync->redis);
    }
    w.key("channel").string(c.cache_sync->channel);
    w.endObject();
  }
  if (c.resolver) {
    w.key("resolver").beginObject();
    w.key("servers").beginArray();
    for (const Address& a : c.resolver->servers) w.string(a.text());
    w.endArray();
    w.endObject();
  }
  w.key("routes").beginArray();
  for (const auto& r : c.routes) writeRoute(w, r);
  w.endArray();
  w.endObject();
  return w.take();
}

}  // namespace sluice::config
