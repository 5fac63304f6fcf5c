// Picks a request's route: the first route whose match holds, taking routes by `priority`
// (higher first) and in file order among equal priorities. Built per config snapshot, then
// read-only (shared by every worker). An index by exact host, first path segment and the value
// of a header a route requires exactly keeps a match from scanning routes that cannot apply
// (tests/proxy/stream/router_benchmark.cc).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "filters/base/http_message.h"

namespace sluice::proxy {

class Router {
 public:
  // Orders the routes once; `routes` must outlive the Router (both live in the Snapshot).
  explicit Router(const std::vector<config::Route>& routes);
  // Index into the config's routes of the first match, or -1 (answered 404).
  int match(const base::RequestHead& head) const;

  // Exposed for tests: host without port, compared case-insensitively by the caller's contract
  // (both sides lower-case).
  static bool hostMatches(std::string_view pattern, std::string_view host);

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  // Routes of one host and segment key: those with an exact header (else query) condition
  // filed by the value its first such condition requires, so a request only looks at the routes
  // whose value it sent; the others in `rest`. Each list holds positions in order_, ascending,
  // and a route is in exactly one of them.
  struct Candidates {
    std::vector<int> rest;
    struct ByField {
      bool query = false;  // a query parameter (raw name), else a header (lower-case name)
      std::string name;
      StringMap<std::vector<int>> by_value;
    };
    std::vector<ByField> by_field;
  };
  // The candidates of one host key, by the first path segment every match must have ("api" for
  // path_prefix /api/, path /api or path_regex ^/api/.*), or for any segment.
  struct Segments {
    StringMap<Candidates> by_segment;
    Candidates any_segment;
  };
  static void file(Candidates& c, const config::RouteMatch& m, int pos);

  const std::vector<config::Route>* routes_;
  std::vector<int> order_;  // route indexes, higher priority first, file order among equals
  // A prefilter, so a request looks only at routes that could match it: routes with an exact
  // `host` are filed under it, the others (wildcard, regex, no host) under any_host_.
  StringMap<Segments> by_host_;
  Segments any_host_;
  // Many path or host regexes are run as one RE2::Set per request instead of one RE2 each.
  struct RegexSets;
  std::shared_ptr<const RegexSets> sets_;
};

// The host part of an authority (`example.com:8080` -> `example.com`, `[::1]:80` -> `[::1]`).
std::string_view stripPort(std::string_view authority);

// The raw (not percent-decoded) value of the first parameter `name` in `query` (the part after
// '?'): empty for `name` or `name=`, nullopt when no parameter has that name.
std::optional<std::string_view> findQueryParam(std::string_view query, std::string_view name);

}  // namespace sluice::proxy
