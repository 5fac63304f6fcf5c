#include "proxy/stream/router.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <iterator>

#include "config/regex.h"

namespace sluice::proxy {
namespace {

using config::ValueMatch;

// `value` is the field's or parameter's value, null when it is absent.
bool valueMatches(const ValueMatch& m, const std::string_view* value) {
  switch (m.kind) {
    case ValueMatch::Kind::Present:
      return value != nullptr;
    case ValueMatch::Kind::Absent:
      return value == nullptr;
    case ValueMatch::Kind::Exact:
      return value != nullptr && *value == m.exact;
    case ValueMatch::Kind::Regex:
      return value != nullptr && config::fullMatch(*m.regex, *value);
  }
  return false;
}

// Everything of `m` except host and path, which the caller checks first (the cheap tests).
bool restMatches(const config::RouteMatch& m, const base::RequestHead& head) {
  if (!m.methods.empty() &&
      std::find(m.methods.begin(), m.methods.end(), head.method) == m.methods.end()) {
    return false;
  }
  thread_local std::string scratch;
  for (const auto& [name, condition] : m.headers) {
    std::optional<std::string_view> value = head.headers.combined(name, scratch);
    if (!valueMatches(condition, value ? &*value : nullptr)) return false;
  }
  if (!m.query.empty()) {
    std::string_view query = head.query();
    for (const auto& [name, condition] : m.query) {
      std::optional<std::string_view> value = findQueryParam(query, name);
      if (!valueMatches(condition, value ? &*value : nullptr)) return false;
    }
  }
  return true;
}

// The first segment of an absolute path ("/api/x" -> "api", "/" -> ""); nullopt when `path`
// does not start with '/'.
std::optional<std::string_view> firstSegment(std::string_view path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  size_t end = path.find('/', 1);
  return path.substr(1, (end == std::string_view::npos ? path.size() : end) - 1);
}

// The first segment every path starting with `literal` has, when `literal` holds it whole.
std::optional<std::string_view> segmentOfPrefix(std::string_view literal) {
  if (literal.empty() || literal[0] != '/') return std::nullopt;
  size_t end = literal.find('/', 1);
  if (end == std::string_view::npos) return std::nullopt;
  return literal.substr(1, end - 1);
}

// A prefix every path the regex matches whole starts with: the common part of the bounds of
// what it can match (RE2::PossibleMatchRange; matches are anchored at the start).
std::string literalPrefix(const config::Regex& regex) {
  std::string min, max;
  if (!regex.compiled->PossibleMatchRange(&min, &max, 128)) return {};
  size_t n = 0;
  while (n < min.size() && n < max.size() && min[n] == max[n]) ++n;
  return min.substr(0, n);
}

// The first path segment a route's matches must have, or nullopt when it may vary.
std::optional<std::string> routeSegment(const config::RouteMatch& m) {
  std::optional<std::string_view> segment;
  std::string literal;
  if (m.path) {
    segment = firstSegment(*m.path);
  } else if (m.path_prefix) {
    segment = segmentOfPrefix(*m.path_prefix);
  } else if (m.path_regex) {
    literal = literalPrefix(*m.path_regex);
    segment = segmentOfPrefix(literal);
  }
  if (!segment) return std::nullopt;
  return std::string(*segment);
}

// What is left of one ascending list of positions.
struct Cursor {
  const int* at;
  const int* end;
};

// Visits, in ascending order, the union of ascending lists (no position is in two) until
// `matches` holds; returns that position or -1. The lists are few (a request's host and segment
// buckets, each split by the header values it sent).
template <class Fn>
int firstOf(std::vector<Cursor>& lists, Fn&& matches) {
  for (;;) {
    Cursor* best = nullptr;
    for (Cursor& c : lists) {
      if (c.at != c.end && (best == nullptr || *c.at < *best->at)) best = &c;
    }
    if (best == nullptr) return -1;
    int pos = *best->at++;
    if (matches(pos)) return pos;
  }
}

// The first exact condition of `conditions` (a route's headers or query), if any.
const std::pair<std::string, ValueMatch>* firstExact(
    const std::vector<std::pair<std::string, ValueMatch>>& conditions) {
  for (const auto& c : conditions) {
    if (c.second.kind == ValueMatch::Kind::Exact) return &c;
  }
  return nullptr;
}

// Below this many regexes of a kind, running each route's own RE2 is as cheap as a set.
constexpr size_t kSetMinimum = 8;

// Per request: which patterns of a RegexSet the path (or host) matched, asked once.
struct SetHits {
  std::vector<int>* ids;  // sorted; a thread's own vector, reused
  bool done = false;
  bool ok = false;  // false: the set could not answer (out of memory), use each RE2
  int singles = 0;  // patterns run on their own so far: a request that reaches only a few
                    // regex routes (the index narrowed it) never pays for the whole set
};

constexpr int kSinglesBeforeSet = 4;

// Every path_regex (or every host regex) of the routes in one RE2::Set, anchored at both ends as
// fullMatch is: one pass over the path says which of them match, so routes the index cannot
// narrow cost a lookup each instead of an RE2 run each. Built once per snapshot; RE2::Set is
// safe to match from every worker at once.
struct RegexSet {
  std::unique_ptr<RE2::Set> set;  // null: fewer than kSetMinimum patterns (or it failed)
  std::vector<int> id;            // per position in order_: the pattern's id, or -1
};

void buildSet(RegexSet* one, size_t routes,
              const std::vector<std::pair<int, const config::Regex*>>& regexes) {
  if (regexes.size() < kSetMinimum) return;
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);  // the DFA of hundreds of patterns; on overflow: per route
  auto set = std::make_unique<RE2::Set>(options, RE2::ANCHOR_BOTH);
  std::vector<int> id(routes, -1);
  for (const auto& [pos, regex] : regexes) {
    std::string error;
    id[pos] = set->Add(regex->pattern, &error);
    if (id[pos] < 0) return;  // compiled alone at load, so not expected
  }
  if (!set->Compile()) return;
  one->set = std::move(set);
  one->id = std::move(id);
}

// Whether `text` matches `regex`, the pattern of position `pos`, through the set when it has it.
bool regexHolds(const RegexSet& one, SetHits& hits, int pos, const config::Regex& regex,
                std::string_view text) {
  int id = one.set ? one.id[pos] : -1;
  if (id < 0 || (!hits.done && hits.singles++ < kSinglesBeforeSet)) {
    return config::fullMatch(regex, text);
  }
  if (!hits.done) {
    hits.done = true;
    hits.ids->clear();
    RE2::Set::ErrorInfo info;
    bool any = one.set->Match(re2::StringPiece(text.data(), text.size()), hits.ids, &info);
    hits.ok = any || info.kind == RE2::Set::kNoError;
    std::sort(hits.ids->begin(), hits.ids->end());
  }
  if (!hits.ok) return config::fullMatch(regex, text);
  return std::binary_search(hits.ids->begin(), hits.ids->end(), id);
}

}  // namespace

struct Router::RegexSets {
  RegexSet path, host;
};

std::string_view stripPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  size_t colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

std::optional<std::string_view> findQueryParam(std::string_view query, std::string_view name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t end = std::min(query.find('&', pos), query.size());
    std::string_view pair = query.substr(pos, end - pos);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

bool Router::hostMatches(std::string_view pattern, std::string_view host) {
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix;
  }
  return pattern == host;
}

// Files a route under its first exact header condition, else its first exact query condition,
// else in `rest`.
void Router::file(Candidates& c, const config::RouteMatch& m, int pos) {
  const auto* field = firstExact(m.headers);
  bool query = field == nullptr;
  if (query) field = firstExact(m.query);
  if (field == nullptr) {
    c.rest.push_back(pos);
    return;
  }
  auto it = std::find_if(c.by_field.begin(), c.by_field.end(), [&](const Candidates::ByField& b) {
    return b.query == query && b.name == field->first;
  });
  if (it == c.by_field.end()) {
    c.by_field.push_back({query, field->first, {}});
    it = std::prev(c.by_field.end());
  }
  it->by_value[field->second.exact].push_back(pos);
}

Router::Router(const std::vector<config::Route>& routes) : routes_(&routes) {
  order_.resize(routes.size());
  for (size_t i = 0; i < routes.size(); ++i) order_[i] = static_cast<int>(i);
  std::stable_sort(order_.begin(), order_.end(),
                   [&](int a, int b) { return routes[a].priority > routes[b].priority; });
  for (size_t pos = 0; pos < order_.size(); ++pos) {
    const config::RouteMatch& m = routes[order_[pos]].match;
    bool exact_host = m.host && m.host->rfind("*.", 0) != 0;
    Segments& segments = exact_host ? by_host_[*m.host] : any_host_;
    std::optional<std::string> segment = routeSegment(m);
    file(segment ? segments.by_segment[*segment] : segments.any_segment, m, static_cast<int>(pos));
  }
  std::vector<std::pair<int, const config::Regex*>> paths, hosts;
  for (size_t pos = 0; pos < order_.size(); ++pos) {
    const config::RouteMatch& m = routes[order_[pos]].match;
    if (m.path_regex) paths.emplace_back(static_cast<int>(pos), &*m.path_regex);
    if (m.host_regex) hosts.emplace_back(static_cast<int>(pos), &*m.host_regex);
  }
  auto sets = std::make_shared<RegexSets>();
  buildSet(&sets->path, order_.size(), paths);
  buildSet(&sets->host, order_.size(), hosts);
  sets_ = std::move(sets);
}

int Router::match(const base::RequestHead& head) const {
  std::string_view host = stripPort(head.host);
  std::string_view path = head.path();
  std::optional<std::string_view> segment = firstSegment(path);
  thread_local std::vector<Cursor> lists;
  lists.clear();
  auto add = [&](const std::vector<int>& v) {
    if (!v.empty()) lists.push_back({v.data(), v.data() + v.size()});
  };
  thread_local std::string scratch;
  auto addCandidates = [&](const Candidates& c) {
    add(c.rest);
    for (const Candidates::ByField& b : c.by_field) {
      // Every route filed under b requires the field with one value: absent, none applies.
      std::optional<std::string_view> value =
          b.query ? findQueryParam(head.query(), b.name) : head.headers.combined(b.name, scratch);
      if (!value) continue;
      auto it = b.by_value.find(*value);
      if (it != b.by_value.end()) add(it->second);
    }
  };
  auto collect = [&](const Segments& s) {
    addCandidates(s.any_segment);
    if (!segment) return;
    auto it = s.by_segment.find(*segment);
    if (it != s.by_segment.end()) addCandidates(it->second);
  };
  collect(any_host_);
  auto host_it = by_host_.find(host);
  if (host_it != by_host_.end()) collect(host_it->second);
  thread_local std::vector<int> path_ids, host_ids;
  SetHits path_hits{&path_ids}, host_hits{&host_ids};
  int pos = firstOf(lists, [&](int p) {
    const config::RouteMatch& m = (*routes_)[order_[p]].match;
    if (m.host && !hostMatches(*m.host, host)) return false;
    if (m.path && path != *m.path) return false;
    if (m.path_prefix && path.substr(0, m.path_prefix->size()) != *m.path_prefix) return false;
    if (m.host_regex && !regexHolds(sets_->host, host_hits, p, *m.host_regex, host)) return false;
    if (m.path_regex && !regexHolds(sets_->path, path_hits, p, *m.path_regex, path)) return false;
    return restMatches(m, head);
  });
  return pos < 0 ? -1 : order_[pos];
}

}  // namespace sluice::proxy
