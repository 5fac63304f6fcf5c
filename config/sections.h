// Parsers for the sections of a config file (spec/config.md), internal to the loader. Each
// reads one YAML node into its struct, records every problem through the Reader, and returns
// what it could read, so a file with errors still yields all of its diagnostics.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/node_reader.h"
#include "config/units.h"

namespace sluice::config {

// Where a route refers to things defined elsewhere (possibly in a later file), for the checks
// that run once every file is merged.
struct RouteRefs {
  Origin route;                          // the route's map
  Origin name;                           // its `name:` value
  Origin upstream;                       // its `upstream:` value, when set
  std::vector<Origin> clusters;          // filters with `scope: cluster` (need rate_limit_store)
  std::vector<Origin> circuit_breakers;  // `circuit_breaker` filters (need the upstream's section)
  // Upstreams that filters name for requests of their own (ext_auth, a jwks url) or a `mirror:`
  // names: must exist.
  std::vector<std::pair<Origin, std::string>> filter_upstreams;
  // The names of a weighted split (`upstreams:`), each where it is written: must be defined.
  std::vector<std::pair<Origin, std::string>> split_upstreams;
};

// One load: the config being merged from all files, and where each named thing came from.
struct LoadState {
  Config config;
  std::map<std::string, Origin> sections;  // single-valued top-level keys already set
  std::map<std::string, Origin> listener_names;
  std::map<std::string, Origin> listener_addresses;
  std::map<std::string, Origin> upstream_names;
  std::map<std::string, Origin> route_names;
  std::vector<RouteRefs> route_refs;  // parallel to config.routes
  bool listeners_unreadable = false;  // a `listeners:` was not a list (reported already)
};

// parse_server.cc: the process-wide sections.
std::optional<uint32_t> parseWorkers(Reader& r, const YAML::Node& node);
Listener parseListener(Reader& r, const YAML::Node& node);
Admin parseAdmin(Reader& r, const YAML::Node& node);
Limits parseLimits(Reader& r, const YAML::Node& node);
std::vector<Cidr> parseTrustedProxies(Reader& r, const YAML::Node& node);
AccessLog parseAccessLog(Reader& r, const YAML::Node& node);
Tracing parseTracing(Reader& r, const YAML::Node& node);
RateLimitStore parseRateLimitStore(Reader& r, const YAML::Node& node);
// parse_cache_sync.cc
CacheSync parseCacheSync(Reader& r, const YAML::Node& node);

// A `{cert, key}` pair of files, resolved against the naming file's directory.
std::optional<Certificate> parseCertificate(Reader& r, const YAML::Node& node,
                                            const std::string& what);

// file_checks.cc: whether the files named can be used here (LoadOptions::check_files); problems
// are recorded as Reader::resourceError at the `cert:`/`key:`/`path:` value.
void checkCertificateFiles(Reader& r, const YAML::Node& cert_at, const YAML::Node& key_at,
                           const Certificate& c);
void checkAccessLogPath(Reader& r, const YAML::Node& at, const std::string& path);

// parse_upstream.cc
Upstream parseUpstream(Reader& r, const YAML::Node& node);

// parse_discovery.cc: an upstream's `discovery:` (targets from etcd); nullopt after an error.
std::optional<Discovery> parseDiscovery(Reader& r, const YAML::Node& node);

// parse_dns.cc: `resolver:` and the names an upstream target's `srv:` may hold.
Resolver parseResolver(Reader& r, const YAML::Node& node);
bool isValidSrvName(std::string_view name);

// parse_route.cc
Route parseRoute(Reader& r, const YAML::Node& node, RouteRefs* refs);

// parse_mirror.cc: a route's `mirror:`; its upstream goes to refs->filter_upstreams (cross-checked
// like a filter's).
Mirror parseMirror(Reader& r, const YAML::Node& node, RouteRefs* refs);
// An absolute path as a route writes it: starts with /, no spaces or control bytes.
bool isValidPath(std::string_view p);
// A header name as written by the operator: must be a token; returned lower-case.
std::optional<std::string> headerName(Reader& r, const YAML::Node& node, std::string_view what);

// parse_route_match.cc: a route's `match:` (host, paths, regexes, methods, headers, query), and
// `rewrite.path_regex` read from the rewrite map `m` into `w`.
RouteMatch parseMatch(Reader& r, const YAML::Node& node);
void parseRewritePathRegex(Reader& r, MapReader& m, Rewrite* w);

// parse_route_target.cc: a weighted split (names recorded in refs->split_upstreams for the
// cross-check), its `sticky:` key (normalised, as parseKeyExpression writes it; empty after an
// error) and a `redirect:`.
// Reports a route map `m` that has none or more than one of upstream, upstreams, respond and
// redirect, and a `sticky:` without `upstreams:`.
void checkRouteTarget(Reader& r, MapReader& m);
std::vector<WeightedUpstream> parseSplit(Reader& r, const YAML::Node& node, RouteRefs* refs);
std::optional<std::string> parseSticky(Reader& r, const YAML::Node& node);
Redirect parseRedirect(Reader& r, const YAML::Node& node);

// parse_filters.cc: one `- name: {...}` entry of a route's `filters:` list. Empty when the
// entry is malformed (already reported).
std::optional<FilterEntry> parseFilter(Reader& r, const YAML::Node& node, RouteRefs* refs);

// parse_edge_filters.cc: the edge security filters' bodies (the credential files are read here).
IpFilter parseIpFilter(Reader& r, MapReader& m);
CorsFilter parseCors(Reader& r, MapReader& m);
BasicAuthFilter parseBasicAuth(Reader& r, MapReader& m);
ApiKeyFilter parseApiKey(Reader& r, MapReader& m);
// The file at `path`, named by `key` of `m`, or nullopt: reported at the key's value (unless
// files are not checked). Also reads the jwt filter's files.
std::optional<std::string> readFileAt(Reader& r, MapReader& m, std::string_view key,
                                      const std::string& path);
// parse_jwt.cc: the jwt filter (its jwks file and secret_file are read here).
JwtFilter parseJwt(Reader& r, MapReader& m, RouteRefs* refs);
// parse_ext_auth.cc: the ext_auth filter.
ExtAuthFilter parseExtAuth(Reader& r, MapReader& m, RouteRefs* refs);

// A request key as rate limits and hash_key write it: `bare` forms (e.g. ip, route) or
// header:NAME, cookie:NAME, query:NAME, joined with `+` when `allow_plus`. Header names are
// lower-cased in the result.
// `allow_jwt`: jwt:CLAIM is a form too (rate-limit keys).
Parsed<std::string> parseKeyExpression(std::string_view key,
                                       const std::vector<std::string_view>& bare, bool allow_plus,
                                       bool allow_jwt = false);

// cross_check.cc: checks that need every file merged.
void crossCheck(LoadState& state, std::vector<Diagnostic>* errors);

}  // namespace sluice::config
