// Parser for a route's `match:` (spec/gateway.md, Routing): host (exact, *.suffix or {regex}),
// path / path_prefix / path_regex, methods, headers and query parameters (exact, {regex} or
// {present}); and `rewrite.path_regex`. Regexes are RE2, compiled here once per load, so a bad
// one is a config error at its line.
#include "config/regex.h"
#include "config/sections.h"
#include "config/units.h"

namespace sluice::config {
namespace {

bool isValidHost(std::string_view h) {
  if (h.rfind("*.", 0) == 0) h.remove_prefix(2);
  if (h.empty()) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// A regex written as a string at `node`, compiled; a syntax error is reported at the node.
std::optional<Regex> parseRegex(Reader& r, const YAML::Node& node, std::string_view what) {
  auto pattern = r.string(node, what);
  if (!pattern) return std::nullopt;
  if (pattern->empty()) {
    r.error(node, std::string(what) + ": the regex is empty; write e.g. \"^/users/[0-9]+$\"");
    return std::nullopt;
  }
  std::string error;
  auto regex = compileRegex(*pattern, &error);
  if (!regex) r.error(node, std::string(what) + ": " + error);
  return regex;
}

// `value`, `{regex: "..."}` or `{present: true|false}`. `header` values must also be valid
// field values (no CR, LF or NUL).
std::optional<ValueMatch> parseValueMatch(Reader& r, const YAML::Node& node,
                                          const std::string& what, bool header) {
  ValueMatch v;
  if (node.IsScalar()) {
    v.exact = node.Scalar();
    if (header && !isValidHeaderValue(v.exact)) {
      r.error(node, what + ": a header value may not contain CR, LF or NUL");
      return std::nullopt;
    }
    return v;
  }
  if (!node.IsMap()) {
    r.error(node, what + ": expected a value, {regex: \"...\"} or {present: true|false}, got " +
                      describeNode(node));
    return std::nullopt;
  }
  MapReader m(r, node, what, {"regex", "present"});
  if (!m.ok()) return std::nullopt;
  if (m.has("regex") == m.has("present")) {
    r.error(node, what + ": write one of {regex: \"...\"} or {present: true|false}");
    return std::nullopt;
  }
  if (m.has("regex")) {
    v.kind = ValueMatch::Kind::Regex;
    v.regex = parseRegex(r, m.get("regex"), what + ".regex");
    if (!v.regex) return std::nullopt;
    return v;
  }
  bool present = true;
  if (!m.readBool("present", &present)) return std::nullopt;
  v.kind = present ? ValueMatch::Kind::Present : ValueMatch::Kind::Absent;
  return v;
}

// `{name: condition, ...}`; header names lower-cased, each name at most once.
std::vector<std::pair<std::string, ValueMatch>> parseConditions(Reader& r, const YAML::Node& node,
                                                                std::string_view what,
                                                                bool header) {
  std::vector<std::pair<std::string, ValueMatch>> out;
  if (!node.IsMap()) {
    r.error(node,
            std::string(what) + ": expected a map of name: condition, got " + describeNode(node));
    return out;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::optional<std::string> name;
    if (header) {
      name = headerName(r, it->first, what);
    } else if ((name = r.string(it->first, what))) {
      bool ok = !name->empty();
      for (char c : *name) {
        ok = ok && c != '&' && c != '=' && c != '#' && static_cast<unsigned char>(c) > 0x20 &&
             c != 0x7f;
      }
      if (!ok) {
        r.error(it->first, std::string(what) + ": \"" + *name +
                               "\" is not a query parameter name; write it as it appears in the "
                               "URL, e.g. tenant");
        name.reset();
      }
    }
    if (!name) continue;
    auto value = parseValueMatch(r, it->second, *name, header);
    bool repeated = false;
    for (const auto& [seen, v] : out) repeated = repeated || seen == *name;
    if (repeated) {
      r.error(it->first, std::string(what) + ": \"" + *name + "\" is listed twice" +
                             (header ? " (names ignore case)" : "") + "; keep one");
      continue;
    }
    if (value) out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

void parseHost(Reader& r, MapReader& m, RouteMatch* match) {
  const YAML::Node node = m.get("host");
  if (node.IsMap()) {
    MapReader h(r, node, "host", {"regex"});
    if (h.ok() && h.require("regex", "{regex: \"^api[0-9]+\\\\.example\\\\.com$\"}")) {
      match->host_regex = parseRegex(r, h.get("regex"), "host.regex");
    }
    return;
  }
  std::string host;
  if (!m.readString("host", &host)) return;
  host = toLower(host);
  if (isValidHost(host)) {
    match->host = host;
  } else {
    r.error(node, "host: \"" + host +
                      "\" is not a host name; write e.g. api.example.com, *.example.com or "
                      "{regex: \"...\"}");
  }
}

}  // namespace

RouteMatch parseMatch(Reader& r, const YAML::Node& node) {
  RouteMatch match;
  MapReader m(r, node, "match",
              {"host", "path_prefix", "path", "path_regex", "methods", "headers", "query"});
  if (!m.ok()) return match;
  if (m.has("host")) parseHost(r, m, &match);
  for (const char* key : {"path_prefix", "path"}) {
    std::string path;
    if (!m.readString(key, &path)) continue;
    if (!isValidPath(path)) {
      r.error(m.get(key), std::string(key) + ": \"" + path +
                              "\" must start with / and have no spaces, e.g. /v1/");
    } else {
      (std::string_view(key) == "path" ? match.path : match.path_prefix) = path;
    }
  }
  if (m.has("path_regex")) match.path_regex = parseRegex(r, m.get("path_regex"), "path_regex");
  int paths = int(m.has("path")) + int(m.has("path_prefix")) + int(m.has("path_regex"));
  if (paths > 1) {
    r.error(m.keyNode(m.has("path") ? "path" : "path_prefix"),
            "path, path_prefix and path_regex exclude each other; keep one (path is exact, "
            "path_prefix matches the start, path_regex the whole path)");
  }
  if (m.has("methods")) {
    if (auto items = r.list(m.get("methods"), "methods")) {
      for (const auto& item : *items) {
        auto method = r.string(item, "methods");
        if (!method) continue;
        if (!isHttpToken(*method)) {
          r.error(item, "methods: \"" + *method + "\" is not an HTTP method; write e.g. GET");
          continue;
        }
        match.methods.push_back(toUpper(*method));
      }
    }
  }
  if (m.has("headers")) match.headers = parseConditions(r, m.get("headers"), "headers", true);
  if (m.has("query")) match.query = parseConditions(r, m.get("query"), "query", false);
  return match;
}

void parseRewritePathRegex(Reader& r, MapReader& m, Rewrite* w) {
  if (m.has("strip_prefix")) {
    r.error(m.keyNode("path_regex"),
            "strip_prefix and path_regex exclude each other; keep one (path_regex can strip a "
            "prefix too: {pattern: \"^/v1(/.*)$\", replace: \"\\\\1\"})");
    return;
  }
  MapReader p(r, m.get("path_regex"), "path_regex", {"pattern", "replace"});
  if (!p.ok()) return;
  bool complete = p.require("pattern", "\"^/old/(.*)$\"");
  complete = p.require("replace", "\"/new/\\\\1\"") && complete;
  if (!complete) return;
  auto regex = parseRegex(r, p.get("pattern"), "pattern");
  std::string replace;
  if (!p.readString("replace", &replace) || !regex) return;
  bool ok = true;
  for (char c : replace) {
    ok = ok && static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '?' && c != '#';
  }
  if (!ok) {
    r.error(p.get("replace"), "replace: \"" + replace +
                                  "\" may not contain spaces, control bytes, ? or # (the "
                                  "request's query is kept as it is)");
    return;
  }
  std::string error = checkRewrite(*regex, replace);
  if (!error.empty()) {
    r.error(p.get("replace"), "replace: \"" + replace + "\": " + error);
    return;
  }
  w->path_regex = std::move(regex);
  w->path_regex_replace = std::move(replace);
}

}  // namespace sluice::config
