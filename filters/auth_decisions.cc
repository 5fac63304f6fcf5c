#include "filters/auth_decisions.h"

#include <string>

namespace sluice::filters {

base::CounterFamily& authDecisionsFamily(base::MetricsRegistry& registry) {
  return registry.counter(
      "sluice_auth_decisions_total",
      "Decisions of the auth filters (ip_filter, basic_auth, api_key, jwt, ext_auth), by "
      "route, filter and result.",
      {"route", "filter", "result"});
}

base::CounterFamily& passwordChecksFamily(base::MetricsRegistry& registry) {
  return registry.counter("sluice_auth_password_checks_total",
                          "Password hashes basic_auth checked (its cache hits excluded), by "
                          "result.",
                          {"result"});
}

AuthCounters AuthCounters::make(base::MetricsRegistry& registry, std::string_view route,
                                std::string_view filter) {
  base::CounterFamily& family = authDecisionsFamily(registry);
  return AuthCounters{&family.with({route, filter, "allowed"}),
                      &family.with({route, filter, "denied"}),
                      &family.with({route, filter, "error"})};
}

void sendUnauthorized(FilterCallbacks& cb, std::string_view challenge, std::string_view message) {
  base::HeaderMap extra;
  extra.add("www-authenticate", std::string(challenge));
  cb.sendError(401, message, &extra);
}

std::string maskQueryParameter(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  std::string_view query = target.substr(q + 1);
  size_t pos = 0;
  while (true) {
    size_t amp = query.find('&', pos);
    std::string_view pair = query.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name && eq != std::string_view::npos) {
      out.append(pair.substr(0, eq + 1)).append("***");
    } else {
      out.append(pair);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    pos = amp + 1;
  }
  return out;
}

}  // namespace sluice::filters
