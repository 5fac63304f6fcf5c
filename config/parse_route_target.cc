// Where a route sends its requests when it is not one `upstream:`: a weighted split
// (`upstreams: [{name, weight}]` with an optional `sticky: {key}`) or a `redirect:` answered by
// sluice (gateway.md, Routing). The names in a split are checked against `upstreams:` once every
// file is merged (cross_check.cc).
#include "config/sections.h"
#include "config/units.h"
#include "config/value_template.h"

namespace sluice::config {

namespace {

constexpr int64_t kMaxSplitWeight = 1'000'000;

// A redirect's host: a host name or address, with an optional port.
bool isValidRedirectHost(std::string_view h) {
  if (h.empty()) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void checkRouteTarget(Reader& r, MapReader& m) {
  static constexpr std::string_view kTargets[] = {"upstream", "upstreams", "respond", "redirect"};
  std::vector<std::string_view> given;
  for (std::string_view k : kTargets) {
    if (m.has(k)) given.push_back(k);
  }
  if (given.empty()) {
    r.error(m.node(),
            "route needs one of upstream, upstreams, respond or redirect; write e.g. upstream: "
            "api");
  } else if (given.size() > 1) {
    std::string names;
    for (std::string_view k : given) names += (names.empty() ? "" : " and ") + std::string(k);
    r.error(m.keyNode(given[1]),
            "a route has one of upstream, upstreams, respond or redirect, "
            "but this one has " +
                names + "; keep one of them");
  }
  if (m.has("sticky") && !m.has("upstreams")) {
    r.error(m.keyNode("sticky"),
            "sticky keeps a key on one side of a weighted split, and this route has no "
            "upstreams: list; remove it (an upstream's own hash_key keeps a key on one target)");
  }
}

std::vector<WeightedUpstream> parseSplit(Reader& r, const YAML::Node& node, RouteRefs* refs) {
  std::vector<WeightedUpstream> out;
  auto items = r.list(node, "upstreams");
  if (!items) return out;
  if (items->empty()) {
    r.error(node,
            "upstreams: the list is empty; write e.g. [{name: v1, weight: 90}, "
            "{name: v2, weight: 10}]");
    return out;
  }
  uint64_t total = 0;
  for (const auto& item : *items) {
    WeightedUpstream side;
    MapReader m(r, item, "upstreams", {"name", "weight"});
    if (!m.ok()) continue;
    if (!m.require("name", "name: v1") || !m.readString("name", &side.name)) continue;
    m.readInt("weight", &side.weight, 0, kMaxSplitWeight);
    bool repeated = false;
    for (const auto& seen : out) repeated = repeated || seen.name == side.name;
    if (repeated) {
      r.error(m.get("name"), "upstreams: \"" + side.name +
                                 "\" is listed twice; give it one entry with the sum of the "
                                 "weights");
      continue;
    }
    refs->split_upstreams.emplace_back(r.origin(m.get("name")), side.name);
    total += side.weight;
    out.push_back(std::move(side));
  }
  if (!out.empty() && total == 0) {
    r.error(node,
            "upstreams: every weight is 0, so no side would get a request; give at least "
            "one a weight above 0");
  }
  return out;
}

std::optional<std::string> parseSticky(Reader& r, const YAML::Node& node) {
  MapReader m(r, node, "sticky", {"key"});
  if (!m.ok() || !m.require("key", "key: \"cookie:session\"")) return std::nullopt;
  std::string key;
  if (!m.readString("key", &key)) return std::nullopt;
  // The side is chosen before the route's filters run, so the keys that only filters establish
  // (consumer, jwt:CLAIM) are not forms here.
  auto parsed = parseKeyExpression(key, {"ip"}, true);
  if (!parsed) {
    r.error(m.get("key"), "key: " + parsed.error());
    return std::nullopt;
  }
  return *parsed;
}

Redirect parseRedirect(Reader& r, const YAML::Node& node) {
  Redirect d;
  MapReader m(r, node, "redirect", {"scheme", "host", "to", "status"});
  if (!m.ok()) return d;
  if (m.has("to") && (m.has("scheme") || m.has("host"))) {
    r.error(m.keyNode("to"),
            "redirect: to gives the whole target, so it excludes scheme and host; keep to, or "
            "scheme/host (which keep the path and query)");
  } else if (!m.has("to") && !m.has("scheme") && !m.has("host")) {
    r.error(node,
            "redirect needs to, or scheme and/or host; write e.g. {scheme: https, "
            "status: 308} or {to: \"https://example.com${path}\"}");
  }
  if (m.readString("scheme", &d.scheme)) {
    *d.scheme = toLower(*d.scheme);
    if (*d.scheme != "http" && *d.scheme != "https") {
      r.error(m.get("scheme"),
              "scheme: \"" + *d.scheme + "\" is not a scheme; write http or https");
    }
  }
  if (m.readString("host", &d.host)) {
    *d.host = toLower(*d.host);
    if (!isValidRedirectHost(*d.host)) {
      r.error(m.get("host"), "host: \"" + *d.host +
                                 "\" is not a host; write e.g. www.example.com or "
                                 "example.com:8443");
    }
  }
  if (m.readString("to", &d.to)) {
    std::string error;
    if (d.to->empty()) {
      r.error(m.get("to"), "to: the target is empty; write e.g. \"https://example.com${path}\"");
    } else if (!isValidHeaderValue(*d.to)) {
      r.error(m.get("to"), "to: a redirect target may not contain CR, LF or NUL");
    } else if (!ValueTemplate::parse(*d.to, &error)) {
      r.error(m.get("to"), "to: " + error);
    }
  }
  if (m.readInt("status", &d.status, 100, 599) && d.status != 301 && d.status != 302 &&
      d.status != 303 && d.status != 307 && d.status != 308) {
    r.error(m.get("status"), "status: " + std::to_string(d.status) +
                                 " is not a redirect status; write 301, 302, 303, 307 or 308");
  }
  return d;
}

}  // namespace sluice::config
