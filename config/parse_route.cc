// Parser for one entry of `routes:`: what it matches, where it sends the request (an upstream or
// a direct response), rewrites, header edits and its filter chain (spec/config.md).
#include "config/sections.h"
#include "config/units.h"
#include "config/value_template.h"

namespace sluice::config {

bool isValidPath(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  for (char c : p) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// A header name as written by the operator: must be a token; kept lower-case so matching and
// rewriting compare bytes.
std::optional<std::string> headerName(Reader& r, const YAML::Node& node, std::string_view what) {
  auto name = r.string(node, what);
  if (!name) return std::nullopt;
  if (!isHttpToken(*name)) {
    r.error(node, std::string(what) + ": \"" + *name +
                      "\" is not a valid header name; use letters, digits and -, e.g. x-env");
    return std::nullopt;
  }
  return toLower(*name);
}

namespace {

// `{name: value, ...}` with names lower-cased and each name at most once.
std::vector<std::pair<std::string, std::string>> parseHeaderMap(Reader& r, const YAML::Node& node,
                                                                std::string_view what) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!node.IsMap()) {
    r.error(node,
            std::string(what) + ": expected a map of header: value, got " + describeNode(node));
    return out;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    auto name = headerName(r, it->first, what);
    auto value = r.string(it->second, name ? *name : std::string(what));
    if (!name || !value) continue;
    if (!isValidHeaderValue(*value)) {
      r.error(it->second, *name + ": a header value may not contain CR, LF or NUL");
      continue;
    }
    bool repeated = false;
    for (const auto& [seen, v] : out) repeated = repeated || seen == *name;
    if (repeated) {
      r.error(it->first, std::string(what) + ": header \"" + *name +
                             "\" is listed twice (names ignore case); keep one");
      continue;
    }
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

// Each value of a `set:` map must parse as a ValueTemplate (variables, config/value_template.h);
// the filter parses them again when it is built, so only the errors are kept here.
void checkValueTemplates(Reader& r, const YAML::Node& node) {
  if (!node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->second.IsScalar()) continue;
    const std::string value = it->second.Scalar();
    std::string error;
    if (isValidHeaderValue(value) && !ValueTemplate::parse(value, &error)) {
      r.error(it->second, toLower(it->first.Scalar()) + ": " + error);
    }
  }
}

HeaderRewrite parseHeaderRewrite(Reader& r, const YAML::Node& node, const std::string& what) {
  HeaderRewrite h;
  MapReader m(r, node, what, {"set", "remove"});
  if (m.has("set")) {
    h.set = parseHeaderMap(r, m.get("set"), "set");
    checkValueTemplates(r, m.get("set"));
  }
  if (m.has("remove")) {
    if (auto items = r.list(m.get("remove"), "remove")) {
      for (const auto& item : *items) {
        if (auto name = headerName(r, item, "remove")) h.remove.push_back(std::move(*name));
      }
    }
  }
  return h;
}

DirectResponse parseRespond(Reader& r, const YAML::Node& node) {
  DirectResponse d;
  MapReader m(r, node, "respond", {"status", "body", "headers"});
  m.readInt("status", &d.status, 100, 599);
  m.readString("body", &d.body);
  if (m.has("headers")) d.headers = parseHeaderMap(r, m.get("headers"), "headers");
  return d;
}

Rewrite parseRewrite(Reader& r, const YAML::Node& node) {
  Rewrite w;
  MapReader m(r, node, "rewrite", {"strip_prefix", "host", "path_regex"});
  if (m.readString("strip_prefix", &w.strip_prefix) && !isValidPath(*w.strip_prefix)) {
    r.error(m.get("strip_prefix"), "strip_prefix: \"" + *w.strip_prefix +
                                       "\" must start with / and have no spaces, e.g. /v1");
  }
  if (m.readString("host", &w.host) &&
      (w.host->empty() || !isValidHeaderValue(*w.host) || w.host->find(' ') != std::string::npos)) {
    r.error(m.get("host"), "host: \"" + *w.host + "\" is not a host; write e.g. api.internal");
  }
  if (m.has("path_regex")) parseRewritePathRegex(r, m, &w);
  return w;
}

}  // namespace

Route parseRoute(Reader& r, const YAML::Node& node, RouteRefs* refs) {
  Route route;
  refs->route = r.origin(node);
  MapReader m(r, node, "route",
              {"name", "priority", "match", "upstream", "upstreams", "sticky", "respond",
               "redirect", "mirror", "rewrite", "request_headers", "response_headers", "filters"});
  if (!m.ok()) return route;
  if (m.readName("name", &route.name)) refs->name = r.origin(m.get("name"));
  m.readInt("priority", &route.priority, -1'000'000, 1'000'000);
  if (m.has("match")) route.match = parseMatch(r, m.get("match"));
  checkRouteTarget(r, m);  // exactly one of upstream, upstreams, respond, redirect
  if (m.readString("upstream", &route.upstream)) refs->upstream = r.origin(m.get("upstream"));
  if (m.has("upstreams")) route.upstreams = parseSplit(r, m.get("upstreams"), refs);
  if (m.has("sticky")) route.sticky_key = parseSticky(r, m.get("sticky"));
  if (m.has("respond")) route.respond = parseRespond(r, m.get("respond"));
  if (m.has("redirect")) route.redirect = parseRedirect(r, m.get("redirect"));
  if (m.has("mirror")) route.mirror = parseMirror(r, m.get("mirror"), refs);
  if (m.has("rewrite")) route.rewrite = parseRewrite(r, m.get("rewrite"));
  if (m.has("request_headers")) {
    route.request_headers = parseHeaderRewrite(r, m.get("request_headers"), "request_headers");
  }
  if (m.has("response_headers")) {
    route.response_headers = parseHeaderRewrite(r, m.get("response_headers"), "response_headers");
  }
  if (m.has("filters")) {
    if (auto items = r.list(m.get("filters"), "filters")) {
      for (const auto& item : *items) {
        if (auto f = parseFilter(r, item, refs)) route.filters.push_back(std::move(*f));
      }
    }
  }
  return route;
}

}  // namespace sluice::config
