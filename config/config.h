// The validated, immutable configuration of one sluice process: plain structs with defaults.
// Built by config/loader.cc from YAML (spec/config.md); never mutated after loading, shared by
// every worker through std::shared_ptr<const Config>.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace re2 {
class RE2;
}

namespace sluice::config {

using Duration = std::chrono::milliseconds;

// A `host:port` or `[v6]:port` as written; `host` has no brackets.
struct Address {
  std::string host;
  uint16_t port = 0;
  std::string text() const;  // back to `host:port` / `[v6]:port`
};

// A rate such as `100/s`: `count` events per `per`.
struct Rate {
  double count = 0;
  Duration per{1000};
  double perSecond() const { return count * 1000.0 / static_cast<double>(per.count()); }
};

// A CIDR block from trusted_proxies; addresses are kept in network byte order, IPv4 mapped
// into IPv6 (::ffff:a.b.c.d) so one comparison covers both families.
struct Cidr {
  uint8_t addr[16] = {};
  uint8_t prefix_len = 128;
  std::string text;
  bool contains(const uint8_t ip16[16]) const;
};

struct Certificate {
  std::string cert;  // absolute paths (resolved against the file that named them)
  std::string key;
};

struct ListenerTls {
  std::vector<Certificate> certificates;
  std::string min_version = "TLSv1.2";
  std::vector<std::string> alpn{"http/1.1"};
  std::optional<std::string> client_ca;
};

// HTTP/2 towards clients (gateway.md): h2 by ALPN on TLS listeners, h2c with prior knowledge on
// plain ones when `h2c` is set. The values are the SETTINGS sluice announces and enforces.
struct Http2Settings {
  uint32_t max_concurrent_streams = 128;
  uint64_t initial_stream_window = 64 * 1024;
  uint64_t initial_connection_window = 1024 * 1024;
  uint64_t max_frame_size = 16 * 1024;
  uint64_t max_header_list_size = 32 * 1024;  // the same budget as limits.max_header_bytes
  bool h2c = false;
};

struct Listener {
  std::string name;
  Address address;
  bool proxy_protocol = false;
  // TCP_DEFER_ACCEPT: a connection is accepted when its first bytes arrive (or after about a
  // second of silence), so the accept and the request's read share one wake-up.
  bool defer_accept = true;
  std::optional<ListenerTls> tls;
  Http2Settings http2;
};

struct Admin {
  std::optional<Address> address;  // absent: no admin listener
};

struct Limits {
  uint32_t max_connections = 10000;
  uint64_t max_header_bytes = 32 * 1024;
  uint32_t max_headers = 100;
  uint64_t max_body_bytes = 10 * 1024 * 1024;
  Duration header_timeout{10'000};
  Duration idle_timeout{60'000};
  Duration drain_timeout{30'000};
  Duration send_timeout{60'000};  // a client that takes no response bytes for this long is cut
};

enum class AccessLogFormat { Json, Combined, Template };

struct AccessLog {
  std::string path = "stdout";  // stdout | stderr | off | a file path
  AccessLogFormat format = AccessLogFormat::Json;
  // With Template: the line as written, `$name` or `${name}` standing for the JSON field of that
  // name (checked at load against kAccessLogFields).
  std::string line_template;
};

// The field names of a JSON access-log line, in order: also the variables of a template.
inline constexpr const char* kAccessLogFields[] = {"time",        "request_id",
                                                   "remote",      "method",
                                                   "host",        "path",
                                                   "protocol",    "status",
                                                   "bytes_sent",  "duration_ms",
                                                   "route",       "upstream",
                                                   "target",      "upstream_duration_ms",
                                                   "cache",       "ratelimit",
                                                   "termination", "trace_id",
                                                   "span_id",     "referer",
                                                   "user_agent"};

// `tracing:` (gateway.md, Tracing and logs). W3C trace context is always read and passed on;
// this section sets the sampling of new traces and where sampled spans are exported.
struct OtlpExport {
  std::string endpoint;  // http://host:port/path of an OTLP/HTTP receiver
  bool json = false;     // `encoding: json`; protobuf (the OTLP/HTTP default) otherwise
  Duration timeout{2'000};
  uint32_t max_queue = 10'000;  // spans waiting per process; more are dropped and counted
};

struct Tracing {
  std::string service_name = "sluice";
  double sample = 1.0;  // 0..1, for traces sluice starts; a parent's sampled flag is followed
  std::optional<OtlpExport> otlp;
};

struct Target {
  std::string address;  // `host:port` as written; host may be a name to resolve
  Address parsed;
  uint32_t weight = 1;
  // `srv: _http._tcp.api.internal` instead of an address: the targets (host, port and weight)
  // come from the name's SRV records. Empty for an `address:` target.
  std::string srv;
};

// `resolver:` the DNS servers sluice asks itself (c-ares) instead of /etc/resolv.conf's: for SRV
// targets and, when set, for every target host name (after /etc/hosts).
struct Resolver {
  std::vector<Address> servers;  // IP literals with ports
};

struct UpstreamTimeouts {
  Duration connect{2'000};
  Duration response{30'000};
  Duration idle{60'000};
};

// Exponential back-off with full jitter between tries (`retries.backoff`): the n-th retry waits a
// random time in [0, min(max, base * 2^(n-1))]; a 503's or 429's Retry-After is honoured instead
// when it fits the deadline.
struct RetryBackoff {
  Duration base{25};
  Duration max{250};
};

struct Retries {
  std::optional<RetryBackoff> backoff;  // absent: the next try starts at once
  uint32_t attempts =
      1;  // one more try on another target (nginx retries `error timeout` by default)
  std::vector<std::string> on{"connect_failure", "reset", "502", "503", "504"};
  double budget = 0.2;  // retries per request sent, over the last 10 s (balancer/retry_budget.h)
  std::optional<Duration> per_try_timeout;
  std::optional<Duration> deadline;
  bool retry_non_idempotent = false;
};

struct StatusRange {
  int lo = 200;
  int hi = 399;
};

struct HealthCheck {
  std::string path = "/healthz";
  Duration interval{5'000};
  Duration timeout{1'000};
  uint32_t healthy_threshold = 2;
  uint32_t unhealthy_threshold = 3;
  std::vector<StatusRange> expect_status{{200, 399}};
};

struct PassiveHealth {
  uint32_t consecutive_failures = 5;
  Duration base_ejection{30'000};
  uint32_t max_ejection_percent = 50;
};

struct FailureRatio {
  double ratio = 0.5;
  Duration window{10'000};
  uint32_t min_requests = 20;
};

struct CircuitBreaker {
  uint32_t consecutive_failures = 5;
  std::optional<FailureRatio> failure_ratio;
  Duration open_for{30'000};
  uint32_t half_open_requests = 1;
  uint32_t max_requests = 1000;
};

struct UpstreamTls {
  std::optional<std::string> sni;
  bool verify = true;
  std::string ca = "/etc/ssl/certs/ca-certificates.crt";
  std::optional<Certificate> client_certificate;
};

enum class UpstreamProtocol { Http1, H2, H2c };

// `discovery.etcd`: the upstream's targets are the keys under `prefix` in an etcd v3 cluster
// (values `host:port` or {"address": "host:port", "weight": N}), read and then watched over the
// JSON gateway (proxy/upstream/discovery/). `timeout` bounds a connect and a range request;
// reconnect n waits a random time in [c/2, c], c = min(backoff.max, backoff.base x 2^(n-1)),
// rotating across `endpoints`.
struct EtcdDiscovery {
  std::vector<Address> endpoints;
  std::string prefix;
  Duration timeout{2'000};
  RetryBackoff backoff{Duration{200}, Duration{5'000}};
  bool operator==(const EtcdDiscovery& o) const {
    return endpoints.size() == o.endpoints.size() &&
           std::equal(endpoints.begin(), endpoints.end(), o.endpoints.begin(),
                      [](const Address& a, const Address& b) { return a.text() == b.text(); }) &&
           prefix == o.prefix && timeout == o.timeout && backoff.base == o.backoff.base &&
           backoff.max == o.backoff.max;
  }
};

struct Discovery {
  EtcdDiscovery etcd;
  bool operator==(const Discovery&) const = default;
};

struct Upstream {
  std::string name;
  std::string balancer = "round_robin";
  std::string hash_key = "ip";
  std::optional<double> balance_factor;
  std::optional<Duration> slow_start;
  std::optional<Duration> resolve_every;
  std::vector<Target> targets;
  // Targets from a registry instead of `targets` (exclusive with it; none at all is valid).
  std::optional<Discovery> discovery;
  uint32_t keepalive = 64;
  UpstreamTimeouts timeouts;
  Retries retries;
  std::optional<HealthCheck> health_check;
  std::optional<PassiveHealth> passive_health;
  std::optional<CircuitBreaker> circuit_breaker;
  std::optional<UpstreamTls> tls;
  // The protocol spoken to the targets: HTTP/1.1, HTTP/2 over TLS (ALPN h2), or cleartext
  // HTTP/2 with prior knowledge; an HTTP/2 connection carries up to max_streams_per_connection
  // requests at once and is shared by the requests of a worker.
  UpstreamProtocol protocol = UpstreamProtocol::Http1;
  uint32_t max_streams_per_connection = 100;
};

enum class RateLimitOnError { Local, Allow, Deny };

// Either one Redis server (`redis`) or the Sentinels that know the current master of `master`
// (`sentinels`, with `db`); never both.
struct RateLimitStore {
  std::string redis;  // redis://host:port/db
  std::vector<Address> sentinels;
  std::string master;
  int db = 0;  // with sentinels (the URL carries it otherwise)
  RateLimitOnError on_error = RateLimitOnError::Local;
};

// `cache_sync`: the Redis server whose pub/sub channel carries admin cache purges to every
// instance (filters/cache_sync.h): `redis` (redis://host:port[/db]) or, with
// `use_rate_limit_store`, the rate_limit_store's `redis` server; never both.
struct CacheSync {
  std::string redis;
  bool use_rate_limit_store = false;
  std::string channel = "sluice:cache:purge";
};

// ---- filters -------------------------------------------------------------------------------

enum class LimitScope { Local, Cluster };

// Common to the four rate-limit filters.
struct RateLimitCommon {
  std::string key = "ip";  // ip | route | consumer | header:NAME | cookie:NAME | query:NAME, `+`
  uint64_t max_keys = 100000;
  bool headers = false;
  bool dry_run = false;
  LimitScope scope = LimitScope::Local;
};

struct TokenBucketFilter {
  Rate rate;
  uint64_t burst = 0;  // the loader fills in one second's worth of `rate` when not written
  RateLimitCommon common;
};
struct SlidingWindowFilter {
  uint64_t limit = 0;
  Duration window{60'000};
  bool approximate = false;  // precision: approximate (weighted two-window counter); else exact
  RateLimitCommon common;
};
struct FixedWindowFilter {
  uint64_t limit = 0;
  Duration window{60'000};
  RateLimitCommon common;
};
struct LeakyBucketFilter {
  Rate rate;
  uint64_t burst = 0;  // requests queued beyond the rate; 0 = none
  RateLimitCommon common;
};
// What the cache does with CDN-Cache-Control (RFC 9213): use it ahead of Cache-Control and
// forward it, use it and remove it from responses, or neither (it is then an ordinary field).
enum class CdnCacheControl { Use, UseAndRemove, Ignore };
struct CacheFilter {
  // Unset: RFC 9111 heuristic freshness (heuristic_fraction of Date - Last-Modified, at most
  // heuristic_max). Set: a forced lifetime for responses without explicit freshness (0: none).
  std::optional<Duration> ttl;
  uint64_t max_bytes = 64ull * 1024 * 1024;
  Duration stale_while_revalidate{0};
  Duration stale_if_error{0};
  std::optional<Duration> negative_ttl;  // like ttl, for 404 and 410
  double ttl_jitter = 0;                 // share of the lifetime, 0..1
  double heuristic_fraction = 0.1;
  Duration heuristic_max{86'400'000};
  CdnCacheControl cdn_cache_control = CdnCacheControl::Use;
};
struct GzipFilter {
  uint64_t min_bytes = 1024;
  int level = 5;
  std::vector<std::string> types{"text/*", "application/json"};
  std::vector<std::string> encodings{"gzip"};
};
struct CircuitBreakerFilter {};
// `max_body: {bytes: 1MiB}`: a route's own limit on the request body (limits.max_body_bytes
// stays the listener-wide one).
struct MaxBodyFilter {
  uint64_t bytes = 0;
};
// `ip_filter: {allow: [CIDR...], deny: [CIDR...]}`: the client address (as `key: ip` sees it)
// must be in `allow` (when given) and not in `deny`; else 403.
struct IpFilter {
  std::vector<Cidr> allow;
  std::vector<Cidr> deny;
};
// `cors`: preflights answered by sluice, CORS fields on actual requests of allowed origins.
struct CorsFilter {
  std::vector<std::string> origins;         // lower-case; exact ("https://a.example") or "*.domain"
  std::vector<std::string> methods;         // upper-case
  std::vector<std::string> headers;         // lower-case request headers a preflight may ask for
  std::vector<std::string> expose_headers;  // lower-case
  bool credentials = false;
  std::optional<Duration> max_age;  // Access-Control-Max-Age (whole seconds); unset: not sent
};
// One `user:hash` line of an htpasswd file.
struct HtpasswdEntry {
  std::string user;
  std::string hash;  // $2y$/$2b$/$2a$ (bcrypt), $5$/$6$ (SHA-crypt)
};
// `basic_auth: {realm, users_file}`: the file is read at load (and on every reload).
struct BasicAuthFilter {
  std::string realm = "sluice";
  std::string users_file;  // absolute
  std::vector<HtpasswdEntry> users;
};
// One entry of an api_key keys file.
struct ApiKeyEntry {
  std::string consumer;
  std::string key_sha256;  // 64 lower-case hex digits
};
// `api_key: {from: header:NAME | query:NAME, keys_file}`: the file is read at load (and reload).
struct ApiKeyFilter {
  bool from_query = false;  // else a header
  std::string name;         // header names lower-cased; query names as written
  std::string keys_file;    // absolute
  std::vector<ApiKeyEntry> keys;
};

// One key of a JSON Web Key Set (config/jwks.h), members base64url-decoded.
struct Jwk {
  std::string kid, kty, alg, crv;  // alg and kid may be empty
  std::string n, e;                // RSA modulus and exponent (big-endian bytes)
  std::string x, y;                // EC point coordinates; OKP (Ed25519) public key in x
};
// `jwt`: JWS verification (filters/jwt.h). Keys from `jwks: {file}` (read at load and reload)
// or `jwks: {url, upstream, refresh}`; HS* algorithms only with `secret_file`.
struct JwtFilter {
  std::string issuer;                  // empty: iss not checked
  std::vector<std::string> audiences;  // empty: aud not checked
  std::vector<std::string> algorithms{"RS256", "ES256", "EdDSA"};
  std::string jwks_file;  // absolute; empty with a url or only a secret
  std::vector<Jwk> jwks;  // the file's keys
  std::string jwks_url;   // https://host/path (fetched through jwks_upstream)
  std::string jwks_upstream;
  Duration jwks_refresh = std::chrono::minutes(10);
  std::string secret_file;  // absolute; the HS* shared secret
  std::string secret;       // its bytes (a trailing newline dropped)
  enum class From { Header, Cookie, Query } from = From::Header;
  std::string from_name = "authorization";  // header names lower-cased
  Duration leeway = std::chrono::seconds(0);
  std::vector<std::pair<std::string, std::string>> claims_to_headers;  // claim -> header (lower)
  bool optional = false;
};

// `ext_auth`: a check request to upstream `upstream` before the route's own (filters/ext_auth.h).
struct ExtAuthFilter {
  std::string upstream;
  std::string path = "/";                      // origin-form target of the check request
  Duration timeout = std::chrono::seconds(1);  // bounds the whole check (tries included)
  std::vector<std::string> send_headers;       // lower-case: copied from the client's request
  std::vector<std::string> copy_headers;       // lower-case: from a 2xx answer onto the request
  bool allow_on_error = false;                 // on_error: allow (else deny: 503)
};

// Header rewriting of a route (`request_headers:` / `response_headers:`).
struct HeaderRewrite {
  std::vector<std::pair<std::string, std::string>> set;  // names lower-cased
  std::vector<std::string> remove;                       // names lower-cased
  bool empty() const { return set.empty() && remove.empty(); }
};

// `respond:` — a direct response from sluice.
struct DirectResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
};

using FilterSpec =
    std::variant<TokenBucketFilter, SlidingWindowFilter, FixedWindowFilter, LeakyBucketFilter,
                 CacheFilter, GzipFilter, CircuitBreakerFilter, MaxBodyFilter, IpFilter, CorsFilter,
                 BasicAuthFilter, ApiKeyFilter, JwtFilter, ExtAuthFilter>;

// The registry name (YAML key) of a filter spec, e.g. "token_bucket".
const char* filterName(const FilterSpec& spec);

struct FilterEntry {
  std::string name;  // YAML key
  FilterSpec spec;
};

// ---- routes --------------------------------------------------------------------------------

// An RE2 pattern as written and its compiled form (compiled once at load, whole-string match;
// config/regex.h). Shared, never mutated: RE2 is safe to use from every worker at once.
struct Regex {
  std::string pattern;
  std::shared_ptr<const re2::RE2> compiled;
};

// A condition on a header's or a query parameter's value: equal to `exact`, matched whole by
// `regex`, or only present / absent (`{present: true|false}`).
struct ValueMatch {
  enum class Kind { Exact, Regex, Present, Absent };
  Kind kind = Kind::Exact;
  std::string exact;
  std::optional<Regex> regex;
};

struct RouteMatch {
  std::optional<std::string> host;  // lower-case; exact or "*.suffix"
  std::optional<Regex> host_regex;  // `host: {regex: ...}`, on the lower-case host without port
  std::optional<std::string> path_prefix;
  std::optional<std::string> path;
  std::optional<Regex> path_regex;                          // whole path, without the query
  std::vector<std::string> methods;                         // upper-case; empty = any
  std::vector<std::pair<std::string, ValueMatch>> headers;  // name lower-case
  std::vector<std::pair<std::string, ValueMatch>> query;    // parameter name as written (raw)
};

struct Rewrite {
  std::optional<std::string> strip_prefix;
  std::optional<std::string> host;
  // `path_regex: {pattern, replace}`: the path (not the query) is rewritten with RE2 capture
  // groups (`\1` in `replace`) when the pattern matches it.
  std::optional<Regex> path_regex;
  std::string path_regex_replace;
};

// One side of a weighted split (`upstreams: [{name, weight}]`).
struct WeightedUpstream {
  std::string name;
  uint32_t weight = 1;
};

// `mirror:` a copy of the selected requests goes to another upstream (gateway.md, Routing).
struct Mirror {
  std::string upstream;
  double percent = 100;         // 0..100 of the route's requests
  bool compare = false;         // compare status class and body hash with the primary's answer
  uint32_t max_in_flight = 64;  // per worker; a selected request beyond it is dropped (counted)
};

// `redirect:` either {scheme, host} keeping path and query, or {to} with variables.
struct Redirect {
  std::optional<std::string> scheme;
  std::optional<std::string> host;
  std::optional<std::string> to;  // a ValueTemplate (config/value_template.h)
  int status = 302;               // 301, 302, 303, 307 or 308
};

struct Route {
  std::string name;
  int priority = 0;  // higher first; equal priorities keep file order
  RouteMatch match;
  // Exactly one of: upstream, upstreams (weighted split), respond, redirect.
  std::string upstream;
  std::vector<WeightedUpstream> upstreams;
  std::optional<std::string> sticky_key;  // `sticky: {key}`, rate-limit key syntax (ip, header:..)
  std::optional<Mirror> mirror;
  std::optional<DirectResponse> respond;
  std::optional<Redirect> redirect;
  Rewrite rewrite;
  HeaderRewrite request_headers;
  HeaderRewrite response_headers;
  std::vector<FilterEntry> filters;
};

// ---- the whole file ------------------------------------------------------------------------

// `io:` how workers do socket I/O for plain HTTP/1.1 connections: io_uring when the kernel
// allows it (auto), io_uring or else epoll (uring), or libuv's epoll only (epoll, the default:
// io_uring was slower with a new connection per request, see README "Socket I/O backends").
enum class IoMode { Auto, Uring, Epoll };

struct Config {
  uint32_t workers = 1;       // "auto" resolved to the CPU count at load
  IoMode io = IoMode::Epoll;  // read at start; a reload keeps the running backend
  std::vector<Listener> listeners;
  Admin admin;
  Limits limits;
  std::vector<Cidr> trusted_proxies;
  AccessLog access_log;
  std::vector<Upstream> upstreams;
  std::optional<RateLimitStore> rate_limit_store;
  // absent: an admin purge stays on this instance
  std::optional<CacheSync> cache_sync;
  std::optional<Tracing> tracing;    // absent: new traces are not sampled, nothing is exported
  std::optional<Resolver> resolver;  // absent: /etc/resolv.conf (and getaddrinfo for names)
  std::vector<Route> routes;

  std::string source_path;         // the main file it was loaded from
  std::vector<std::string> files;  // every file read (main + includes), in merge order

  const Upstream* findUpstream(std::string_view name) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace sluice::config
