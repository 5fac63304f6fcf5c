// Parsers for a route's `filters:` entries (`- token_bucket: {...}` etc.) and for the request
// key expressions that rate limits and hash_key share (spec/config.md).
#include <cmath>

#include "config/sections.h"
#include "config/units.h"

namespace sluice::config {
namespace {

constexpr int64_t kMaxCount = int64_t{1} << 53;

std::string joinNames(const std::vector<std::string_view>& names, std::string_view last_sep) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last_sep : std::string_view(", ");
    out += names[i];
  }
  return out;
}

// The keys every rate-limit filter accepts, besides its own.
const std::vector<std::string_view> kCommonKeys = {"key", "max_keys", "headers", "dry_run",
                                                   "scope"};

std::vector<std::string_view> withCommon(std::vector<std::string_view> own) {
  own.insert(own.end(), kCommonKeys.begin(), kCommonKeys.end());
  return own;
}

RateLimitCommon parseCommon(Reader& r, MapReader& m, RouteRefs* refs) {
  RateLimitCommon c;
  std::string key;
  if (m.readString("key", &key)) {
    auto parsed = parseKeyExpression(key, {"ip", "route", "consumer"}, true, true);
    if (parsed) {
      c.key = *parsed;
    } else {
      r.error(m.get("key"), "key: " + parsed.error());
    }
  }
  m.readInt("max_keys", &c.max_keys, 1, kMaxCount);
  m.readBool("headers", &c.headers);
  m.readBool("dry_run", &c.dry_run);
  std::string scope;
  if (m.readString("scope", &scope)) {
    if (scope == "local") {
      c.scope = LimitScope::Local;
    } else if (scope == "cluster") {
      c.scope = LimitScope::Cluster;
      refs->clusters.push_back(r.origin(m.get("scope")));
    } else {
      r.error(m.get("scope"), "scope: \"" + scope + "\" is not a scope; write local or cluster");
    }
  }
  return c;
}

// token_bucket and leaky_bucket: a rate and a burst.
template <typename Filter>
Filter parseBucket(Reader& r, MapReader& m, RouteRefs* refs, bool burst_defaults_to_rate) {
  Filter f;
  if (m.require("rate", "rate: 100/s")) m.readRate("rate", &f.rate);
  if (!m.readInt("burst", &f.burst, burst_defaults_to_rate ? 1 : 0, kMaxCount) &&
      burst_defaults_to_rate && f.rate.count > 0) {
    // Without a burst a token bucket holds one second's worth of tokens.
    f.burst = static_cast<uint64_t>(std::max(1.0, std::ceil(f.rate.perSecond())));
  }
  f.common = parseCommon(r, m, refs);
  return f;
}

// sliding_window and fixed_window: a request limit per window.
template <typename Filter>
Filter parseWindow(Reader& r, MapReader& m, RouteRefs* refs) {
  Filter f;
  if (m.require("limit", "limit: 1000")) m.readInt("limit", &f.limit, 1, kMaxCount);
  m.readDuration("window", &f.window);
  f.common = parseCommon(r, m, refs);
  return f;
}

// sliding_window: a window, and how exactly it is enforced (exact unless asked otherwise).
SlidingWindowFilter parseSlidingWindow(Reader& r, MapReader& m, RouteRefs* refs) {
  auto f = parseWindow<SlidingWindowFilter>(r, m, refs);
  std::string precision;
  if (m.readString("precision", &precision)) {
    if (precision == "exact" || precision == "approximate") {
      f.approximate = precision == "approximate";
    } else {
      r.error(m.get("precision"),
              "precision: \"" + precision + "\" is not a precision; write exact or approximate");
    }
  }
  return f;
}

CacheFilter parseCache(Reader& r, MapReader& m) {
  CacheFilter f;
  // Unset: RFC 9111 heuristics; set: a forced lifetime, 0 = none (README).
  m.readDuration("ttl", &f.ttl, true);
  m.readSize("max_bytes", &f.max_bytes, 1);
  m.readDuration("stale_while_revalidate", &f.stale_while_revalidate, true);
  m.readDuration("stale_if_error", &f.stale_if_error, true);
  m.readDuration("negative_ttl", &f.negative_ttl, true);
  m.readPercent("ttl_jitter", &f.ttl_jitter);
  m.readPercent("heuristic_fraction", &f.heuristic_fraction);
  m.readDuration("heuristic_max", &f.heuristic_max, true);
  std::string cdn;
  if (m.readString("cdn_cache_control", &cdn)) {
    if (cdn == "use") {
      f.cdn_cache_control = CdnCacheControl::Use;
    } else if (cdn == "use_and_remove") {
      f.cdn_cache_control = CdnCacheControl::UseAndRemove;
    } else if (cdn == "ignore") {
      f.cdn_cache_control = CdnCacheControl::Ignore;
    } else {
      r.error(m.get("cdn_cache_control"), "cdn_cache_control: \"" + cdn +
                                              "\" is not a choice; write use, use_and_remove "
                                              "or ignore");
    }
  }
  return f;
}

bool isMediaRange(std::string_view t) {
  auto slash = t.find('/');
  if (slash == std::string_view::npos) return false;
  auto type = t.substr(0, slash);
  auto sub = t.substr(slash + 1);
  return isHttpToken(type) && (sub == "*" || isHttpToken(sub)) && type != "*";
}

GzipFilter parseGzip(Reader& r, MapReader& m) {
  GzipFilter f;
  m.readSize("min_bytes", &f.min_bytes, 0);
  m.readInt("level", &f.level, 1, 9);
  if (m.readStrings("types", &f.types)) {
    for (auto& t : f.types) {
      t = toLower(t);
      if (!isMediaRange(t)) {
        r.error(m.get("types"), "types: \"" + t +
                                    "\" is not a media type; write e.g. text/* or "
                                    "application/json");
      }
    }
  }
  if (m.readStrings("encodings", &f.encodings)) {
    if (f.encodings.empty())
      r.error(m.get("encodings"), "encodings: list at least one, e.g. [gzip]");
    for (size_t i = 0; i < f.encodings.size(); ++i) {
      const auto& e = f.encodings[i];
      if (e != "gzip" && e != "br" && e != "zstd") {
        r.error(m.get("encodings"),
                "encodings: \"" + e + "\" is not an encoding; write gzip, br or zstd");
      }
      for (size_t j = 0; j < i; ++j) {
        if (f.encodings[j] == e) {
          r.error(m.get("encodings"), "encodings: \"" + e + "\" is listed twice; keep one");
        }
      }
    }
  }
  return f;
}

struct FilterKind {
  std::string_view name;
  std::vector<std::string_view> keys;
};

const std::vector<FilterKind>& filterKinds() {
  static const std::vector<FilterKind> kinds = {
      {"token_bucket", withCommon({"rate", "burst"})},
      {"sliding_window", withCommon({"limit", "window", "precision"})},
      {"fixed_window", withCommon({"limit", "window"})},
      {"leaky_bucket", withCommon({"rate", "burst"})},
      {"cache",
       {"ttl", "max_bytes", "stale_while_revalidate", "stale_if_error", "negative_ttl",
        "ttl_jitter", "heuristic_fraction", "heuristic_max", "cdn_cache_control"}},
      {"gzip", {"min_bytes", "level", "types", "encodings"}},
      {"circuit_breaker", {}},
      {"max_body", {"bytes"}},
      {"ip_filter", {"allow", "deny"}},
      {"cors", {"origins", "methods", "headers", "expose_headers", "credentials", "max_age"}},
      {"basic_auth", {"realm", "users_file"}},
      {"api_key", {"from", "keys_file"}},
      {"jwt",
       {"issuer", "audiences", "algorithms", "jwks", "secret_file", "from", "leeway",
        "claims_to_headers", "optional"}},
      {"ext_auth", {"upstream", "path", "timeout", "send_headers", "copy_headers", "on_error"}},
  };
  return kinds;
}

FilterSpec parseSpec(Reader& r, MapReader& m, std::string_view name, RouteRefs* refs) {
  if (name == "token_bucket") return parseBucket<TokenBucketFilter>(r, m, refs, true);
  if (name == "leaky_bucket") return parseBucket<LeakyBucketFilter>(r, m, refs, false);
  if (name == "sliding_window") return parseSlidingWindow(r, m, refs);
  if (name == "fixed_window") return parseWindow<FixedWindowFilter>(r, m, refs);
  if (name == "cache") return parseCache(r, m);
  if (name == "gzip") return parseGzip(r, m);
  if (name == "max_body") {
    MaxBodyFilter f;
    if (m.require("bytes", "bytes: 1MiB")) m.readSize("bytes", &f.bytes, 0);
    return f;
  }
  if (name == "ip_filter") return parseIpFilter(r, m);
  if (name == "cors") return parseCors(r, m);
  if (name == "basic_auth") return parseBasicAuth(r, m);
  if (name == "api_key") return parseApiKey(r, m);
  if (name == "jwt") return parseJwt(r, m, refs);
  if (name == "ext_auth") return parseExtAuth(r, m, refs);
  return CircuitBreakerFilter{};
}

}  // namespace

Parsed<std::string> parseKeyExpression(std::string_view key,
                                       const std::vector<std::string_view>& bare, bool allow_plus,
                                       bool allow_jwt) {
  std::string forms =
      joinNames(bare, ", ") + (allow_jwt ? ", header:NAME, cookie:NAME, "
                                           "query:NAME or jwt:CLAIM"
                                         : ", header:NAME, cookie:NAME or query:NAME");
  const ParseError bad{"\"" + std::string(key) + "\" is not a request key; write " + forms +
                       (allow_plus ? ", or several joined with + (e.g. ip+header:x-api-key)" : "")};
  std::string out;
  size_t start = 0;
  while (true) {
    size_t plus = allow_plus ? key.find('+', start) : std::string_view::npos;
    std::string_view part = key.substr(start, plus == std::string_view::npos ? plus : plus - start);
    auto colon = part.find(':');
    std::string normal;
    if (colon == std::string_view::npos) {
      bool known = false;
      for (auto b : bare) known = known || part == b;
      if (!known) return bad;
      normal = std::string(part);
    } else {
      auto kind = part.substr(0, colon);
      auto name = part.substr(colon + 1);
      if (kind == "header" && isHttpToken(name)) {
        normal = "header:" + toLower(name);  // header names ignore case
      } else if ((kind == "cookie" || kind == "query" || (allow_jwt && kind == "jwt")) &&
                 isHttpToken(name)) {
        normal = std::string(part);
      } else {
        return bad;
      }
    }
    if (!out.empty()) out += "+";
    out += normal;
    if (plus == std::string_view::npos) break;
    start = plus + 1;
  }
  return out;
}

std::optional<FilterEntry> parseFilter(Reader& r, const YAML::Node& node, RouteRefs* refs) {
  if (!node.IsMap() || node.size() != 1) {
    r.error(node,
            "a filter is a map with one key, its name, e.g. - token_bucket: {rate: 100/s}; "
            "got " +
                (node.IsMap() ? "a map with " + std::to_string(node.size()) + " keys"
                              : describeNode(node)));
    return std::nullopt;
  }
  auto entry = node.begin();
  YAML::Node key = entry->first;  // a copy: the iterator hands out a temporary pair
  YAML::Node body = entry->second;
  const FilterKind* kind = nullptr;
  for (const auto& k : filterKinds()) {
    if (key.IsScalar() && key.Scalar() == k.name) kind = &k;
  }
  if (!kind) {
    std::vector<std::string_view> names;
    for (const auto& k : filterKinds()) names.push_back(k.name);
    r.error(key,
            "unknown filter " + describeNode(key) + "; expected one of: " + joinNames(names, ", "));
    return std::nullopt;
  }
  MapReader m(r, body, std::string(kind->name), kind->keys);
  std::optional<FilterEntry> out;
  if (m.ok()) out = FilterEntry{std::string(kind->name), parseSpec(r, m, kind->name, refs)};
  if (out && kind->name == "circuit_breaker" && refs != nullptr) {
    refs->circuit_breakers.push_back(r.origin(key));
  }
  return out;
}

}  // namespace sluice::config
