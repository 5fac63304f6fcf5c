// What the auth filters (ip_filter, basic_auth, api_key) share: the decision counter
// sluice_auth_decisions_total{route, filter, result} and the 401 answer. Label values are the
// route and the filter's type, never anything a client sent.
#pragma once

#include <string>
#include <string_view>

#include "filters/base/metrics_registry.h"
#include "filters/filter.h"

namespace sluice::filters {

// Declares (or gets) the family; proxy/admin/metrics declares it at start so it is always shown.
base::CounterFamily& authDecisionsFamily(base::MetricsRegistry& registry);
// sluice_auth_password_checks_total{result}: the password hashes basic_auth checked (not its
// cache hits), by result match|mismatch|error.
base::CounterFamily& passwordChecksFamily(base::MetricsRegistry& registry);

// One filter's three series, resolved at build time (main thread); inc() on any worker.
struct AuthCounters {
  base::Counter* allowed = nullptr;
  base::Counter* denied = nullptr;
  base::Counter* error = nullptr;

  static AuthCounters make(base::MetricsRegistry& registry, std::string_view route,
                           std::string_view filter);
};

// 401 in sluice's error format with `WWW-Authenticate: <challenge>`; `message` says why, never
// what the client sent.
void sendUnauthorized(FilterCallbacks& cb, std::string_view challenge, std::string_view message);

// `target` (path?query) with the value of every query parameter `name` replaced by `***`, for
// the access log.
std::string maskQueryParameter(std::string_view target, std::string_view name);

}  // namespace sluice::filters
