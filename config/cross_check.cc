// Checks that can only run once every file is merged: references between sections (a route's
// upstream may be defined in a later include) and what the whole config must contain.
#include "config/redis_url.h"
#include "config/sections.h"

namespace sluice::config {

void crossCheck(LoadState& state, std::vector<Diagnostic>* errors) {
  const Config& c = state.config;
  auto report = [&](const Origin& at, std::string message) {
    errors->push_back(Diagnostic{at.file, at.line, at.column, std::move(message)});
  };

  if (c.listeners.empty() && !state.listeners_unreadable) {
    report(Origin{c.source_path, 1, 1},
           "no listeners: add at least one, e.g. listeners: [{name: public, address: "
           "0.0.0.0:8080}]");
  }

  if (c.admin.address) {
    auto it = state.listener_addresses.find(c.admin.address->text());
    if (it != state.listener_addresses.end()) {
      report(state.sections["admin"], "admin address " + c.admin.address->text() +
                                          " is also the address of the listener at " +
                                          it->second.text() +
                                          "; the admin API must have its own address");
    }
  }

  if (c.cache_sync && c.cache_sync->use_rate_limit_store) {
    if (!c.rate_limit_store) {
      report(state.sections["cache_sync"],
             "cache_sync: use_rate_limit_store needs a rate_limit_store section; add one or "
             "name the server with cache_sync: {redis: redis://host:port}");
    } else if (c.rate_limit_store->redis.empty()) {
      report(state.sections["cache_sync"],
             "cache_sync: the rate_limit_store's Sentinels cannot be used for purges; name the "
             "server with cache_sync: {redis: redis://host:port}");
    } else if (auto url = parseRedisUrl(c.rate_limit_store->redis); !url) {
      report(state.sections["cache_sync"], "cache_sync: the rate_limit_store's redis URL \"" +
                                               c.rate_limit_store->redis +
                                               "\" cannot be used for purges: " + url.error());
    }
  }

  std::string defined;  // names in definition order, each once
  for (const auto& u : c.upstreams) {
    if (!u.name.empty() && c.findUpstream(u.name) == &u) {
      defined += (defined.empty() ? "" : ", ") + u.name;
    }
  }
  for (size_t i = 0; i < c.routes.size() && i < state.route_refs.size(); ++i) {
    const Route& route = c.routes[i];
    const RouteRefs& refs = state.route_refs[i];
    // The circuit_breaker filter trips on the upstream's own breaker settings.
    const Upstream* upstream = route.upstream.empty() ? nullptr : c.findUpstream(route.upstream);
    for (const auto& at : refs.circuit_breakers) {
      if ((route.respond || route.redirect) && route.upstream.empty()) {
        report(at, std::string("circuit_breaker: this route answers with ") +
                       (route.respond ? "respond:" : "redirect:") +
                       ", so there is no upstream to protect; remove the filter");
      } else if (!route.upstreams.empty()) {
        // The filter fails fast on one upstream's breakers before the side is known; each
        // side's breakers still apply to every try sent to it.
        report(at,
               "circuit_breaker: the filter watches the breakers of one upstream, and this "
               "route splits its requests across upstreams:; remove the filter (put "
               "circuit_breaker: settings on the upstreams instead: they apply to every try "
               "sent to them)");
      } else if (upstream != nullptr && !upstream->circuit_breaker) {
        report(at,
               "circuit_breaker: the filter uses the upstream's circuit_breaker settings, "
               "and upstream \"" +
                   route.upstream +
                   "\" has none; add e.g. "
                   "circuit_breaker: {consecutive_failures: 5} to it, or remove the filter");
      }
    }
    if (!route.upstream.empty() && !c.findUpstream(route.upstream)) {
      report(refs.upstream,
             "upstream \"" + route.upstream + "\" is not defined; " +
                 (defined.empty() ? std::string("add it under upstreams:")
                                  : "use one of: " + defined + " (or add it under upstreams:)"));
    }
    for (const auto& [at, name] : refs.split_upstreams) {
      if (c.findUpstream(name) == nullptr) {
        report(at,
               "upstream \"" + name + "\" is not defined; " +
                   (defined.empty() ? std::string("add it under upstreams:")
                                    : "use one of: " + defined + " (or add it under upstreams:)"));
      }
    }
    for (const auto& [at, name] : refs.filter_upstreams) {
      if (c.findUpstream(name) == nullptr) {
        report(at, "upstream \"" + name + "\" is not defined; " +
                       (defined.empty() ? std::string("add it under upstreams:")
                                        : "use one of: " + defined));
      }
    }
    if (!c.rate_limit_store) {
      for (const auto& at : refs.clusters) {
        report(at, "scope: cluster needs a rate_limit_store section; add one or use scope: local");
      }
    }
  }
}

}  // namespace sluice::config
