// The `routes` entries of the config dump (json_dump.h), with their filters.
#include "config/json_dump_writer.h"

namespace sluice::config::dump {
namespace {

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

}  // namespace

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

}  // namespace sluice::config::dump
