// The ext_auth filter (spec/gateway.md, "Edge security filters"): forward auth as nginx
// auth_request, Envoy ext_authz (HTTP service) and Traefik forwardAuth do it. Each request is
// held while sluice asks the `upstream` (by name, through the same upstream path as every
// request: balancer, health, breaker, pool, timeouts; FilterCallbacks::fetchFromUpstream) with
// `GET path`, no body, the client's `send_headers` and what the original request was
// (X-Original-URI, X-Original-Method, X-Forwarded-For/-Host/-Uri/-Method, X-Request-Id).
// A 2xx answer lets the request through with `copy_headers` of the answer set on it (client-sent
// fields of those names removed first); any other answer (401, 403, a 302 to a login page...) is
// relayed to the client as the service gave it (status, fields, body up to 64 KiB); no answer (a
// service down, a timeout, a body over 64 KiB) follows on_error: deny (503) or allow.
#pragma once

#include <memory>

#include "config/config.h"
#include "filters/auth_decisions.h"
#include "filters/filter.h"

namespace sluice::filters {

class ExtAuthFactory final : public FilterFactory {
 public:
  ExtAuthFactory(const config::ExtAuthFilter& cfg, AuthCounters counters)
      : cfg_(cfg), counters_(counters) {}
  std::unique_ptr<Filter> create() const override;

  const config::ExtAuthFilter& config() const { return cfg_; }
  const AuthCounters& counters() const { return counters_; }

 private:
  config::ExtAuthFilter cfg_;
  AuthCounters counters_;
};

// The largest answer body of the auth service that is relayed; a larger one counts as an error.
constexpr size_t kExtAuthMaxBody = 64 * 1024;

}  // namespace sluice::filters
